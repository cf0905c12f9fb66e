"""Customer operations, each one transaction: find, plan, apply, record.

The service owns the order of things (claim the Idempotency-Key, resolve the request, load and
lock the customer, check If-Match, find who holds the request's identifiers, plan, apply, write
history, record the response for the key); the planner decides, the repository stores. Every
refusal is an ApiError carrying all the errors found, and rolls everything back, the key included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from patron import errors
from patron.auth.principal import Principal
from patron.customers import idempotency, repository, writes
from patron.customers.idempotency import IdempotencyKey, StoredResponse
from patron.customers.lookup import Lookup
from patron.customers.model import Actor, Customer, ProfileKey, profile_label
from patron.customers.planner import Plan, plan
from patron.customers.requests import CustomerRequest
from patron.customers.resolve import Problems, Resolved, resolve
from patron.db.driver import Connection, Database, UniqueViolation
from patron.errors import ApiError, Problem
from patron.orgs.model import OrgConfig


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


@dataclass(slots=True)
class WriteResult:
    """What a registration or update answers."""

    customer_id: int | None
    version: int | None
    plan: Plan
    dry_run: bool

    def wire(self) -> dict[str, Any]:
        """`{"createdId", "warnings", "sideEffects"}` (+ `"changes"` for a dry run)."""
        body: dict[str, Any] = {
            "createdId": self.customer_id,
            "warnings": [w.to_wire() for w in self.plan.warnings],
            "sideEffects": self.plan.side_effects,
        }
        if self.dry_run:
            body["changes"] = [c.to_wire() for c in self.plan.changes]
        return body

    def headers(self) -> dict[str, str]:
        """The customer's version as `ETag` (none for a dry-run registration)."""
        return {} if self.version is None else {"ETag": f'"{self.version}"'}

    def stored(self) -> StoredResponse:
        """The response as an Idempotency-Key keeps it, byte for byte."""
        return StoredResponse(200, orjson.dumps(self.wire()), self.headers())


# One element of an If-Match list (RFC 9110 8.8.3): an optionally weak quoted tag, or nothing
# (empty list elements are allowed), up to the next comma. An opaque tag may itself hold commas,
# so the list is scanned tag by tag rather than split.
_IF_MATCH_ELEMENT = re.compile(r'[ \t]*(?:(W/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|\Z)')


@dataclass(frozen=True, slots=True)
class IfMatch:
    """An If-Match precondition: `*`, or the strong entity tags listed (weak ones never match)."""

    tags: frozenset[str]
    any_version: bool = False

    @classmethod
    def parse(cls, values: list[str]) -> IfMatch | None:
        """The precondition of the If-Match header lines (None without); ApiError (400) if bad."""
        if not values:
            return None
        raw = ",".join(values).strip()  # repeated header lines form one list
        if raw == "*":
            return cls(frozenset(), any_version=True)
        strong: set[str] = set()
        listed = 0
        pos = 0
        while pos < len(raw):
            m = _IF_MATCH_ELEMENT.match(raw, pos)
            if m is None:
                listed = 0
                break
            if m.group(2) is not None:
                listed += 1
                if not m.group(1):  # weak tags are left out: strong comparison never matches them
                    strong.add(m.group(2))
            pos = m.end()
        if listed == 0:
            # Garbage, or a list without a single tag, which no customer could ever match: a
            # client bug better named than answered with a 412.
            raise ApiError.one(
                errors.INVALID_IF_MATCH,
                'If-Match must be * or a list of entity tags such as "3"',
                "If-Match",
            )
        return cls(frozenset(strong))

    def matches(self, version: int) -> bool:
        """Strong comparison of the customer's ETag `"<version>"` with the listed tags."""
        return self.any_version or str(version) in self.tags


@dataclass(frozen=True, slots=True)
class Target:
    """Which customer an update is for: by identifier lookup, or by id with a default profile."""

    default_key: ProfileKey
    lookup: Lookup | None = None
    customer_id: int | None = None


@dataclass(slots=True)
class Found:
    """A customer found for reading, with the profiles the request selected."""

    customer: Customer
    selected: list[ProfileKey] | None
    warnings: list[Problem] = field(default_factory=list)


def _actor(principal: Principal) -> Actor:
    return Actor(principal.till_code, principal.actor_type)


def _pairs(resolved: Resolved) -> list[tuple[str, str]]:
    return sorted({(i.type, i.value) for p in resolved.profiles for i in p.identifiers})


def identifier_taken(exc: UniqueViolation, problems: Problems) -> ApiError:
    """The answer to a unique-key violation on identifiers (409, 8008); re-raises any other."""
    # A concurrent request took an identifier between our check and our insert: the unique
    # key decided, and the loser gets the same answer the check would have given.
    if exc.table == "identifiers":
        entry, message = (
            errors.IDENTIFIER_TAKEN,
            "an identifier of the request was just taken by another customer",
        )
    else:
        raise exc
    return ApiError([Problem(entry, message)], problems.warnings)


async def not_found(conn: Connection, config: OrgConfig, lookup: Lookup) -> Problem:
    """Why a lookup found nobody: 8015, or 8065 when another source holds the identifier."""
    if lookup.key is not None and await repository.identifier_exists(
        conn, config.org_id, lookup.id_type, lookup.value
    ):
        return Problem(
            errors.FOUND_IN_OTHER_SOURCE,
            f"no customer has {lookup.id_type} {lookup.value} in {profile_label(lookup.key)}, "
            "but one has it in another source",
        )
    return Problem(errors.CUSTOMER_NOT_FOUND, "customer not found")


async def register(
    db: Database,
    config: OrgConfig,
    principal: Principal,
    request: CustomerRequest,
    *,
    request_id: str,
    dry_run: bool,
    retry: IdempotencyKey | None = None,
) -> WriteResult | StoredResponse:
    """Register a customer (SPEC 5.0); with `retry`, once per Idempotency-Key (rule 13)."""
    now = utcnow()
    actor = _actor(principal)
    resolved, problems = resolve(request, config, default_key=None, now=now)
    try:
        async with db.transaction(write=True) as conn:
            if retry is not None and not dry_run:
                replay = await idempotency.claim(conn, config.org_id, retry, now)
                if replay is not None:
                    return replay
            holders = await repository.holders(conn, config.org_id, _pairs(resolved))
            p = plan(None, resolved, problems, config, holders=holders, now=now, actor=actor)
            if p.errors:
                raise ApiError(p.errors, p.warnings)
            if dry_run:
                return WriteResult(None, None, p, dry_run=True)
            new_id = await writes.apply(
                conn, config.org_id, p, request_id=request_id, actor=actor, now=now, new=True
            )
            result = WriteResult(new_id, p.customer.version, p, dry_run=False)
            if retry is not None:
                await idempotency.record(conn, config.org_id, retry, result.stored())
    except UniqueViolation as exc:
        raise identifier_taken(exc, problems) from None
    return result


async def _lock_and_load(
    conn: Connection, config: OrgConfig, target: Target, now: datetime
) -> Customer | Problem:
    """Lock the target customer, then load it whole (SPEC rule 12)."""
    if target.lookup is not None:
        lk = target.lookup
        assert lk.key is not None
        customer = await repository.lock_and_load(
            conn, config.org_id, now=now, key=lk.key, id_type=lk.id_type, value=lk.value
        )
        return customer if customer is not None else await not_found(conn, config, lk)
    assert target.customer_id is not None
    customer = await repository.lock_and_load(
        conn, config.org_id, now=now, customer_id=target.customer_id
    )
    return (
        customer
        if customer is not None
        else Problem(errors.CUSTOMER_NOT_FOUND, "customer not found")
    )


async def update(
    db: Database,
    config: OrgConfig,
    principal: Principal,
    target: Target,
    request: CustomerRequest,
    *,
    request_id: str,
    dry_run: bool,
    retry: IdempotencyKey | None = None,
    if_match: IfMatch | None = None,
) -> WriteResult | StoredResponse:
    """Update Customer Details (SPEC section 6), by lookup or by id.

    With `retry`, a repeated request replays the first response (rule 13), before anything else
    is looked at; with `if_match`, a customer whose version does not match is a 412.
    """
    now = utcnow()
    actor = _actor(principal)
    resolved, problems = resolve(request, config, default_key=target.default_key, now=now)
    try:
        async with db.transaction(write=True) as conn:
            if retry is not None and not dry_run:
                replay = await idempotency.claim(conn, config.org_id, retry, now)
                if replay is not None:
                    return replay
            customer = await _lock_and_load(conn, config, target, now)
            if isinstance(customer, Problem):
                raise ApiError([customer, *problems.errors], problems.warnings)
            # Compared under the lock, so no writer can slip in between check and update. Errors
            # of the request itself come along, and a 400 outranks the 412 (as it does a 404).
            if if_match is not None and not if_match.matches(customer.version):
                precondition = Problem(
                    errors.PRECONDITION_FAILED,
                    f'If-Match does not match the customer\'s current ETag "{customer.version}"',
                    "If-Match",
                )
                raise ApiError([precondition, *problems.errors], problems.warnings)
            holders = await repository.holders(conn, config.org_id, _pairs(resolved))
            p = plan(customer, resolved, problems, config, holders=holders, now=now, actor=actor)
            if p.errors:
                raise ApiError(p.errors, p.warnings)
            if p.changed and not dry_run:
                # Rule 11: an update that changes nothing writes nothing, not even a date.
                await writes.apply(
                    conn, config.org_id, p, request_id=request_id, actor=actor, now=now, new=False
                )
            result = WriteResult(
                customer.id, p.customer.version if not dry_run else customer.version, p, dry_run
            )
            if retry is not None and not dry_run:
                # Even an update that changed nothing is recorded: its retry must replay it.
                await idempotency.record(conn, config.org_id, retry, result.stored())
    except UniqueViolation as exc:
        raise identifier_taken(exc, problems) from None
    return result


async def lookup_id(db: Database, config: OrgConfig, lookup: Lookup) -> tuple[int, list[Problem]]:
    """The id of the customer an identifier names (SPEC 5.1)."""
    async with db.transaction(write=False) as conn:
        if lookup.key is not None:
            found = await repository.find_id(
                conn, config.org_id, lookup.key, lookup.id_type, lookup.value
            )
            if found is None:
                raise ApiError([await not_found(conn, config, lookup)])
            return found, []
        holders = await repository.holders(conn, config.org_id, [(lookup.id_type, lookup.value)])
    return _any_holder(holders.get((lookup.id_type, lookup.value), []), lookup)


def _any_holder(found: list[Any], lookup: Lookup) -> tuple[int, list[Problem]]:
    ids = sorted({h.customer_id for h in found})
    if not ids:
        raise ApiError.one(errors.CUSTOMER_NOT_FOUND, "customer not found")
    warnings = []
    if len(ids) > 1:
        warnings.append(
            Problem(
                errors.AMBIGUOUS_LOOKUP,
                f"{len(ids)} customers hold {lookup.id_type} {lookup.value} in different sources; "
                f"this is the one with the lowest id",
                "identifierValue",
            )
        )
    return ids[0], warnings


async def details_by_lookup(db: Database, config: OrgConfig, lookup: Lookup) -> Found:
    """A customer found by identifier, with the profile of the source/account asked for."""
    now = utcnow()
    async with db.transaction(write=False) as conn:
        if lookup.key is not None:
            customer = await repository.find(
                conn, config.org_id, lookup.key, lookup.id_type, lookup.value, now=now
            )
            if customer is None:
                raise ApiError([await not_found(conn, config, lookup)])
            return Found(customer, [lookup.key])
        holders = await repository.holders(conn, config.org_id, [(lookup.id_type, lookup.value)])
        customer_id, warnings = _any_holder(holders.get((lookup.id_type, lookup.value), []), lookup)
        customer = await repository.load(conn, config.org_id, customer_id, now=now)
    assert customer is not None
    return Found(customer, None, warnings)


async def details_by_id(
    db: Database, config: OrgConfig, customer_id: int, key: ProfileKey | None
) -> Found:
    """A customer by id, with one profile (`key`) or all of them (None)."""
    async with db.transaction(write=False) as conn:
        customer = await repository.load(conn, config.org_id, customer_id, now=utcnow())
    if customer is None:
        raise ApiError.one(errors.CUSTOMER_NOT_FOUND, "customer not found")
    warnings = []
    if key is not None and key not in customer.profiles:
        warnings.append(
            Problem(
                errors.NO_PROFILE_IN_SOURCE,
                f"the customer has no profile in {profile_label(key)}",
                "source",
            )
        )
    return Found(customer, None if key is None else [key], warnings)


async def history(
    db: Database, config: OrgConfig, customer_id: int, *, limit: int, before_version: int | None
) -> tuple[list[Any], int | None]:
    """A page of the customer's history, newest first, and the cursor of the next page."""
    async with db.transaction(write=False) as conn:
        if not await repository.customer_exists(conn, config.org_id, customer_id):
            raise ApiError.one(errors.CUSTOMER_NOT_FOUND, "customer not found")
        rows = await repository.history(
            conn, config.org_id, customer_id, limit=limit + 1, before_version=before_version
        )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = int(rows[-1]["version"]) if more and rows else None
    return rows, next_cursor
