"""Communication consent of one customer (SPEC 10.2): read it, or change it in one transaction.

A change runs the one skeleton of every write (`patron.customers.write_run`: claim the
Idempotency-Key, write, keep the answer for the key); its write locks and loads the customer
(`patron.customers.store`), checks If-Match, loads its stored states, plans (`consent`, pure),
and stores the plan with `patron.customers.writes` (the states, the history entry with its
provenance, the change event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from patron import errors
from patron.auth.principal import Principal
from patron.conditions import IdempotencyKey, IfMatch, StoredResponse
from patron.customers import consent_repository, service, writes
from patron.customers.consent import (
    ConsentRequest,
    Pair,
    ResolvedConsent,
    after_plan,
    plan_consent,
    resolve_consent,
)
from patron.customers.lookup import Lookup
from patron.customers.model import Actor
from patron.customers.planner import Plan
from patron.customers.store import lock_customer
from patron.customers.write_run import Attempt, run_write
from patron.db.driver import Connection, Database
from patron.errors import ApiError, Problem
from patron.orgs.model import OrgConfig


@dataclass(frozen=True, slots=True)
class ConsentTarget:
    """Whose consent: the customer an identifier names, or an id."""

    lookup: Lookup | None = None
    customer_id: int | None = None


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A customer's stored consent states, its version, and the lookup's warnings."""

    customer_id: int
    version: int
    states: dict[Pair, str]
    warnings: list[Problem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ConsentResult:
    """What a consent change did: the plan, the states after it, dry run or not."""

    customer_id: int
    version: int
    plan: Plan
    states: dict[Pair, str]
    request: ResolvedConsent
    dry_run: bool


ConsentWritten = ConsentResult | StoredResponse
"""A change's result, or the first response of its Idempotency-Key replayed."""

ConsentAnswer = Callable[[ConsentResult], StoredResponse]
"""How the route answers a result: kept with an Idempotency-Key, to be replayed byte for byte."""


async def _customer_id(
    db: Database, config: OrgConfig, target: ConsentTarget
) -> tuple[int, list[Problem]]:
    if target.lookup is not None:
        return await service.lookup_id(db, config, target.lookup)
    assert target.customer_id is not None
    return target.customer_id, []


async def read(db: Database, config: OrgConfig, target: ConsentTarget) -> ConsentState:
    """The customer's stored consent states (`source=ALL` lookups included)."""
    customer_id, warnings = await _customer_id(db, config, target)
    async with db.transaction(write=False) as conn:
        version = await consent_repository.version(conn, config.org_id, customer_id)
        if version is None:
            raise ApiError.one(errors.CUSTOMER_NOT_FOUND, "customer not found")
        states = await consent_repository.states(conn, config.org_id, customer_id)
    return ConsentState(customer_id, version, states, warnings)


async def change(
    db: Database,
    config: OrgConfig,
    principal: Principal,
    target: ConsentTarget,
    request: ConsentRequest,
    *,
    request_id: str,
    dry_run: bool,
    retry: IdempotencyKey | None = None,
    if_match: IfMatch | None = None,
    answer: ConsentAnswer,
) -> ConsentWritten:
    """Change a customer's consent; with `retry` once per Idempotency-Key, with `if_match` only
    at that version (412 otherwise)."""
    actor = Actor(principal.till_code, principal.actor_type)

    def attempt(now: datetime) -> Attempt[ConsentResult]:
        resolved, problems = resolve_consent(request, config)

        async def write(conn: Connection) -> ConsentResult:
            customer = await lock_customer(
                conn,
                config,
                problems,
                now=now,
                lookup=target.lookup,
                customer_id=target.customer_id,
                accepts=None if if_match is None else if_match.refusal,
            )
            stored = await consent_repository.states(conn, config.org_id, customer.id)
            p = plan_consent(customer, stored, resolved, problems, config, now=now)
            if p.errors:
                raise ApiError(p.errors, p.warnings)
            if p.changed and not dry_run:
                # A change that changes nothing writes nothing: no state, no history, no event.
                await writes.apply(
                    conn, config.org_id, p, request_id=request_id, actor=actor, now=now, new=False
                )
            version = p.customer.version if not dry_run else customer.version
            states = after_plan(stored, p)
            return ConsentResult(customer.id, version, p, states, resolved, dry_run)

        return Attempt(problems, write)

    # Checked like an update: the customer and its states are read without a lock, and the one
    # write statement stores them only if the customer's version is still the one read (every
    # consent change bumps it). Consent writes no identifier, so it never loses the race the
    # skeleton runs again for.
    return await run_write(db, config, retry, dry_run, answer, attempt, checked=True)
