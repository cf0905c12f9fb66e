"""Points and tiers of one customer (SPEC 10.3): read-only, one transaction per request.

Balances are computed from the points ledger at the time of the request, never stored, so an
expired credit leaves `loyaltyPoints` the moment its expiry passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from patron import errors
from patron.customers import points_repository, repository, service
from patron.customers.lookup import Lookup
from patron.customers.model import Enrolment
from patron.customers.points import Credit, LedgerSums
from patron.db.driver import Database
from patron.errors import ApiError, Problem
from patron.orgs.model import OrgConfig


@dataclass(frozen=True, slots=True)
class Loyalty:
    """A customer's enrolments and ledger sums at one instant, and the lookup's warnings."""

    customer_id: int
    enrolments: list[Enrolment]
    sums: dict[int, LedgerSums]
    warnings: list[Problem] = field(default_factory=list)


def _not_found() -> ApiError:
    return ApiError.one(errors.CUSTOMER_NOT_FOUND, "customer not found")


async def loyalty_by_id(
    db: Database, config: OrgConfig, customer_id: int, *, program_id: int | None = None
) -> Loyalty:
    """The customer's enrolments (one program's with `program_id`) and their sums now."""
    now = service.utcnow()
    async with db.transaction(write=False) as conn:
        enrolled = await points_repository.enrolments(conn, config.org_id, customer_id)
        if enrolled is None:
            raise _not_found()
        sums = await points_repository.ledger_sums(conn, config.org_id, customer_id, now=now)
    if program_id is not None:
        enrolled = [e for e in enrolled if e.program_id == program_id]
    return Loyalty(customer_id, enrolled, sums)


async def loyalty_by_lookup(
    db: Database, config: OrgConfig, lookup: Lookup, *, program_id: int | None = None
) -> Loyalty:
    """The same, for the customer an identifier names (SPEC 5.1, `source=ALL` included)."""
    customer_id, warnings = await service.lookup_id(db, config, lookup)
    found = await loyalty_by_id(db, config, customer_id, program_id=program_id)
    return Loyalty(found.customer_id, found.enrolments, found.sums, warnings)


async def ledger_sums(
    db: Database, config: OrgConfig, customer_id: int, *, now: datetime | None = None
) -> dict[int, LedgerSums]:
    """The customer's ledger sums per program (for the details routes' embeds)."""
    async with db.transaction(write=False) as conn:
        return await points_repository.ledger_sums(
            conn, config.org_id, customer_id, now=now or service.utcnow()
        )


async def expiry_schedule(db: Database, config: OrgConfig, customer_id: int) -> list[Credit]:
    """The customer's credits that expire later than now, soonest first."""
    now = service.utcnow()
    async with db.transaction(write=False) as conn:
        if not await repository.customer_exists(conn, config.org_id, customer_id):
            raise _not_found()
        return await points_repository.unexpired_credits(conn, config.org_id, customer_id, now=now)
