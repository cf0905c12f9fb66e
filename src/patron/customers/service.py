"""Customer operations, each one transaction: find, plan, apply, record.

The service takes plain values and returns a result (the route renders it). It owns the order of things (claim the Idempotency-Key, resolve the request, load and
lock the customer, check If-Match, find who holds the request's identifiers, plan, apply, write
history, record the response for the key); the planner decides, the repository stores. Every
refusal is an ApiError carrying all the errors found, and rolls everything back, the key included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from patron import errors
from patron.auth.principal import Principal
from patron.conditions import IdempotencyKey, IfMatch, StoredResponse
from patron.customers import idempotency, repository, writes
from patron.customers.identifier_change import ResolvedChange, plan_change, resolve_change
from patron.customers.lookup import Lookup
from patron.customers.model import Actor, Customer, ProfileKey, profile_label
from patron.customers.planner import Plan, plan
from patron.customers.requests import CustomerRequest, IdentifierChangeRequest
from patron.customers.resolve import resolve
from patron.customers.store import (
    Holders,
    Target,
    Updated,
    change_one,
    identifier_pairs,
    not_found,
    update_one,
)
from patron.db.driver import Connection, Database, UniqueViolation
from patron.errors import ApiError, Problem, Problems
from patron.orgs.model import OrgConfig


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a registration or update did: the customer's id and version, the plan, dry run or not."""

    customer_id: int | None
    version: int | None
    plan: Plan
    dry_run: bool


Written = WriteResult | StoredResponse
"""A write's result, or the first response of its Idempotency-Key replayed."""

Answer = Callable[[WriteResult], StoredResponse]
"""How the route answers a result: kept with an Idempotency-Key, to be replayed byte for byte."""


@dataclass(slots=True)
class Found:
    """A customer found for reading, with the profiles the request selected."""

    customer: Customer
    selected: list[ProfileKey] | None
    warnings: list[Problem] = field(default_factory=list)


def _actor(principal: Principal) -> Actor:
    return Actor(principal.till_code, principal.actor_type)


ATTEMPTS = 2
"""A write that lost a race for an identifier is run once more: the second run reads the
winner's committed rows, so it is answered exactly as a request arriving after it would be."""


def lost_race(exc: UniqueViolation) -> bool:
    """Whether a unique-key violation is a concurrent writer taking one of our identifiers."""
    return exc.table in ("identifiers", "identifier_owners")


def identifier_taken(exc: UniqueViolation, problems: Problems) -> ApiError:
    """The answer to losing a race for an identifier (409: 8008 in the same source/account,
    8053 in another); re-raises any other violation."""
    # Only reached when even a re-run lost (writers keep taking and freeing the value): the
    # key that refused the row says which rule it was.
    if exc.table == "identifiers":
        entry = errors.IDENTIFIER_TAKEN
    elif exc.table == "identifier_owners":
        entry = errors.IDENTIFIER_TAKEN_OTHER_SOURCE
    else:
        raise exc
    message = "an identifier of the request was just taken by another customer"
    return ApiError([Problem(entry, message)], problems.warnings)


async def register(
    db: Database,
    config: OrgConfig,
    principal: Principal,
    request: CustomerRequest,
    *,
    request_id: str,
    dry_run: bool,
    retry: IdempotencyKey | None = None,
    answer: Answer,
) -> Written:
    """Register a customer (SPEC 5.0); with `retry`, once per Idempotency-Key (rule 13)."""
    actor = _actor(principal)
    for attempt in range(1, ATTEMPTS + 1):
        now = utcnow()
        # Resolved afresh for each run: planning adds its findings to the problems.
        resolved, problems = resolve(request, config, default_key=None, now=now)
        try:
            async with db.transaction(write=True) as conn:
                if retry is not None and not dry_run:
                    replay = await idempotency.claim(conn, config.org_id, retry, now)
                    if replay is not None:
                        return replay
                pairs = identifier_pairs(resolved)
                holders = await repository.holders(conn, config.org_id, pairs)
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
                    await idempotency.record(conn, config.org_id, retry, answer(result))
            return result
        except UniqueViolation as exc:
            if attempt == ATTEMPTS or not lost_race(exc):
                raise identifier_taken(exc, problems) from None
    raise AssertionError("unreachable")


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
    answer: Answer,
) -> Written:
    """Update Customer Details (SPEC section 6), by lookup or by id.

    With `retry`, a repeated request replays the first response (rule 13), before anything else
    is looked at, and `answer` gives the response kept for it; with `if_match`, a customer whose
    version does not match is a 412.
    """
    actor = _actor(principal)
    for attempt in range(1, ATTEMPTS + 1):
        now = utcnow()
        resolved, problems = resolve(request, config, default_key=target.default_key, now=now)
        try:
            async with db.transaction(write=True) as conn:
                if retry is not None and not dry_run:
                    replay = await idempotency.claim(conn, config.org_id, retry, now)
                    if replay is not None:
                        return replay
                updated = await update_one(
                    conn,
                    config,
                    target,
                    resolved,
                    problems,
                    actor=actor,
                    now=now,
                    request_id=request_id,
                    dry_run=dry_run,
                    accepts=None if if_match is None else if_match.refusal,
                )
                return await _finish(conn, config, updated, dry_run, retry, answer)
        except UniqueViolation as exc:
            if attempt == ATTEMPTS or not lost_race(exc):
                raise identifier_taken(exc, problems) from None
    raise AssertionError("unreachable")


async def change_identifiers(
    db: Database,
    config: OrgConfig,
    principal: Principal,
    target: Target,
    request: IdentifierChangeRequest,
    *,
    request_id: str,
    dry_run: bool,
    retry: IdempotencyKey | None = None,
    if_match: IfMatch | None = None,
    answer: Answer,
) -> Written:
    """Remove, then add, identifiers of one profile of a customer named by id (SPEC 10.1)."""
    assert target.customer_id is not None
    actor = _actor(principal)
    key = target.default_key
    for attempt in range(1, ATTEMPTS + 1):
        now = utcnow()
        change, problems = resolve_change(request, config)
        try:
            async with db.transaction(write=True) as conn:
                if retry is not None and not dry_run:
                    replay = await idempotency.claim(conn, config.org_id, retry, now)
                    if replay is not None:
                        return replay
                updated = await change_one(
                    conn,
                    config,
                    target,
                    sorted({(a.type, a.value) for a in change.add}),
                    _change_planner(key, change, problems, now, actor),
                    problems,
                    actor=actor,
                    now=now,
                    request_id=request_id,
                    dry_run=dry_run,
                    accepts=None if if_match is None else if_match.refusal,
                )
                return await _finish(conn, config, updated, dry_run, retry, answer)
        except UniqueViolation as exc:
            if attempt == ATTEMPTS or not lost_race(exc):
                raise identifier_taken(exc, problems) from None
    raise AssertionError("unreachable")


def _change_planner(
    key: ProfileKey, change: ResolvedChange, problems: Problems, now: datetime, actor: Actor
) -> Callable[[Customer, Holders], Plan]:
    """The changeIdentifier planner for one run, waiting for the locked customer and holders."""

    def decide(customer: Customer, holders: Holders) -> Plan:
        return plan_change(customer, key, change, problems, holders=holders, now=now, actor=actor)

    return decide


async def _finish(
    conn: Connection,
    config: OrgConfig,
    updated: Updated,
    dry_run: bool,
    retry: IdempotencyKey | None,
    answer: Answer,
) -> WriteResult:
    """The result of a stored (or dry-run) change of a customer, kept for its Idempotency-Key."""
    customer, p = updated.customer, updated.plan
    result = WriteResult(
        customer.id, p.customer.version if not dry_run else customer.version, p, dry_run
    )
    if retry is not None and not dry_run:
        # Even an update that changed nothing is recorded: its retry must replay it.
        await idempotency.record(conn, config.org_id, retry, answer(result))
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
