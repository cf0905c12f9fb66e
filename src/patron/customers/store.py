"""Load, plan, store: one customer's update inside a transaction its caller holds.

The API's update (`patron.customers.service`) and the import's update lines
(`patron.bulk.importer`) both come here, so they lock, report a missing customer, find the
holders of identifiers, plan and store the same way. Every later write that changes a stored
customer belongs here too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from patron import errors
from patron.customers import repository, writes
from patron.customers.lookup import Lookup
from patron.customers.model import Actor, Customer, Holder, ProfileKey, profile_label
from patron.customers.planner import Plan, plan
from patron.customers.resolve import Resolved
from patron.db.driver import Connection
from patron.errors import ApiError, Problem, Problems
from patron.orgs.model import OrgConfig

Holders = Mapping[tuple[str, str], Sequence[Holder]]
"""Who holds each (type, value) asked about, in every source of the org."""


@dataclass(frozen=True, slots=True)
class Target:
    """Which customer an update is for: by identifier lookup, or by id with a default profile."""

    default_key: ProfileKey
    lookup: Lookup | None = None
    customer_id: int | None = None


@dataclass(frozen=True, slots=True)
class Updated:
    """A customer's update, planned and (unless a dry run) stored."""

    customer: Customer
    """The customer as it was loaded, before the plan."""
    plan: Plan


def identifier_pairs(resolved: Resolved) -> list[tuple[str, str]]:
    """The (type, value) pairs of every identifier the request names, sorted."""
    return sorted({(i.type, i.value) for p in resolved.profiles for i in p.identifiers})


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


async def _lock_and_load(
    conn: Connection,
    config: OrgConfig,
    lookup: Lookup | None,
    customer_id: int | None,
    now: datetime,
) -> Customer | Problem:
    """Lock the customer a lookup or an id names, then load it whole (SPEC rule 12)."""
    if lookup is not None:
        assert lookup.key is not None
        customer = await repository.lock_and_load(
            conn, config.org_id, now=now, key=lookup.key, id_type=lookup.id_type, value=lookup.value
        )
        return customer if customer is not None else await not_found(conn, config, lookup)
    assert customer_id is not None
    customer = await repository.lock_and_load(conn, config.org_id, now=now, customer_id=customer_id)
    return (
        customer
        if customer is not None
        else Problem(errors.CUSTOMER_NOT_FOUND, "customer not found")
    )


async def lock_customer(
    conn: Connection,
    config: OrgConfig,
    problems: Problems,
    *,
    now: datetime,
    lookup: Lookup | None = None,
    customer_id: int | None = None,
    accepts: Callable[[int], Problem | None] | None = None,
) -> Customer:
    """Lock and load the customer a lookup or an id names for a write other than the update,
    and check its version; ApiError with the request's problems when it is missing or stale.

    Outside a transaction (a checked write) the customer is read, not locked: its write
    statement then checks the version read.
    """
    customer = await _lock_and_load(conn, config, lookup, customer_id, now)
    if isinstance(customer, Problem):
        raise ApiError([customer, *problems.errors], problems.warnings)
    refusal = accepts(customer.version) if accepts is not None else None
    if refusal is not None:
        raise ApiError([refusal, *problems.errors], problems.warnings)
    return customer


async def update_one(
    conn: Connection,
    config: OrgConfig,
    target: Target,
    resolved: Resolved,
    problems: Problems,
    *,
    actor: Actor,
    now: datetime,
    request_id: str,
    dry_run: bool = False,
    accepts: Callable[[int], Problem | None] | None = None,
) -> Updated:
    """Lock and load the target, plan the update and store it; ApiError with every problem.

    `accepts` checks the locked customer's version first (If-Match: the refusal, or None).
    """

    def decide(customer: Customer, holders: Holders) -> Plan:
        return plan(customer, resolved, problems, config, holders=holders, now=now, actor=actor)

    return await change_one(
        conn,
        config,
        target,
        identifier_pairs(resolved),
        decide,
        problems,
        actor=actor,
        now=now,
        request_id=request_id,
        dry_run=dry_run,
        accepts=accepts,
    )


async def change_one(
    conn: Connection,
    config: OrgConfig,
    target: Target,
    pairs: list[tuple[str, str]],
    decide: Callable[[Customer, Holders], Plan],
    problems: Problems,
    *,
    actor: Actor,
    now: datetime,
    request_id: str,
    dry_run: bool = False,
    accepts: Callable[[int], Problem | None] | None = None,
) -> Updated:
    """Lock and load the target, find who holds `pairs`, let `decide` plan, and store the plan.

    Every write that changes a stored customer (the update, changeIdentifier) comes here.
    """
    customer = await _lock_and_load(conn, config, target.lookup, target.customer_id, now)
    if isinstance(customer, Problem):
        raise ApiError([customer, *problems.errors], problems.warnings)
    # Compared under the lock, or (outside a transaction) with the version the write statement
    # then checks, so no writer can slip in between check and update. Errors of the request
    # itself come along, and a 400 outranks the 412 (as it does a 404).
    refusal = accepts(customer.version) if accepts is not None else None
    if refusal is not None:
        raise ApiError([refusal, *problems.errors], problems.warnings)
    holders = await repository.holders(conn, config.org_id, pairs)
    p = decide(customer, holders)
    if p.errors:
        raise ApiError(p.errors, p.warnings)
    if p.changed and not dry_run:
        # Rule 11: an update that changes nothing writes nothing, not even a date.
        await writes.apply(
            conn, config.org_id, p, request_id=request_id, actor=actor, now=now, new=False
        )
    return Updated(customer, p)
