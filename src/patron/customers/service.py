"""Customer operations, each one transaction: find, plan, apply, record.

The service takes plain values and returns a result (the route renders it). Each write is its
resolve and its planner call; `patron.customers.write_run` runs it the one way every write runs
(claim the Idempotency-Key, write, record the response for the key, run a lost identifier race
once more), and `patron.customers.store` loads and locks the customer, checks If-Match, finds who
holds the request's identifiers, plans and stores. Every refusal is an ApiError carrying all the
errors found, and rolls everything back, the key included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from patron import errors
from patron.auth.principal import Principal
from patron.conditions import IdempotencyKey, IfMatch, StoredResponse
from patron.customers import repository, writes
from patron.customers.identifier_change import plan_change, resolve_change
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
from patron.customers.write_run import ATTEMPTS as ATTEMPTS
from patron.customers.write_run import Attempt, run_write
from patron.customers.write_run import identifier_taken as identifier_taken
from patron.customers.write_run import lost_race as lost_race
from patron.db.driver import Connection, Database
from patron.errors import ApiError, Problem
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

    def attempt(now: datetime) -> Attempt[WriteResult]:
        resolved, problems = resolve(request, config, default_key=None, now=now)

        async def write(conn: Connection) -> WriteResult:
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
            return WriteResult(new_id, p.customer.version, p, dry_run=False)

        return Attempt(problems, write)

    return await run_write(db, config, retry, dry_run, answer, attempt)


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

    def attempt(now: datetime) -> Attempt[WriteResult]:
        resolved, problems = resolve(request, config, default_key=target.default_key, now=now)

        async def write(conn: Connection) -> WriteResult:
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
            return _result(updated, dry_run)

        return Attempt(problems, write)

    return await run_write(db, config, retry, dry_run, answer, attempt, checked=True)


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

    def attempt(now: datetime) -> Attempt[WriteResult]:
        change, problems = resolve_change(request, config)

        def decide(customer: Customer, holders: Holders) -> Plan:
            return plan_change(
                customer, key, change, problems, holders=holders, now=now, actor=actor
            )

        async def write(conn: Connection) -> WriteResult:
            updated = await change_one(
                conn,
                config,
                target,
                sorted({(a.type, a.value) for a in change.add}),
                decide,
                problems,
                actor=actor,
                now=now,
                request_id=request_id,
                dry_run=dry_run,
                accepts=None if if_match is None else if_match.refusal,
            )
            return _result(updated, dry_run)

        return Attempt(problems, write)

    return await run_write(db, config, retry, dry_run, answer, attempt, checked=True)


def _result(updated: Updated, dry_run: bool) -> WriteResult:
    """The result of a stored (or dry-run) change of a customer."""
    customer, p = updated.customer, updated.plan
    version = p.customer.version if not dry_run else customer.version
    return WriteResult(customer.id, version, p, dry_run)


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
