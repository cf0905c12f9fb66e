"""The SQL that reads a customer's points ledger and enrolments for the points and tier routes.

Both ledger queries are answered from `ix_points_ledger_balance` (org, customer, program,
expiry, points) alone, so a customer with thousands of credits costs one index range scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patron.customers.model import Enrolment
from patron.customers.points import Credit, LedgerSums
from patron.db.driver import Connection
from patron.orgs.model import OrgId

SUMS = (
    "SELECT program_id, SUM(points) AS lifetime,"
    " SUM(CASE WHEN expires_at <= $3 THEN points ELSE 0 END) AS expired"
    " FROM points_ledger WHERE org_id = $1 AND customer_id = $2 GROUP BY program_id"
)

CREDITS = (
    "SELECT program_id, points, expires_at FROM points_ledger"
    " WHERE org_id = $1 AND customer_id = $2 AND expires_at > $3"
    " ORDER BY expires_at, program_id"
)

_ENROLMENTS = (
    "SELECT e.program_id, e.tier_number, e.tier_expiry_date FROM customers c"
    " LEFT JOIN enrolments e ON e.org_id = c.org_id AND e.customer_id = c.id"
    " WHERE c.org_id = $1 AND c.id = $2 ORDER BY e.program_id"
)


def _ts(value: Any) -> datetime:
    # SQLite hands back the stored ISO text when the column type is not declared as DATETIME.
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


async def ledger_sums(
    conn: Connection, org_id: OrgId, customer_id: int, *, now: datetime
) -> dict[int, LedgerSums]:
    """The customer's lifetime and expired credits per program, as of `now` (one statement)."""
    rows = await conn.fetch(SUMS, org_id, customer_id, now)
    return {
        int(r["program_id"]): LedgerSums(
            int(r["program_id"]), int(r["lifetime"] or 0), int(r["expired"] or 0)
        )
        for r in rows
    }


async def unexpired_credits(
    conn: Connection, org_id: OrgId, customer_id: int, *, now: datetime
) -> list[Credit]:
    """The customer's credits that have an expiry after `now`, soonest first."""
    rows = await conn.fetch(CREDITS, org_id, customer_id, now)
    return [Credit(int(r["program_id"]), int(r["points"]), _ts(r["expires_at"])) for r in rows]


async def enrolments(conn: Connection, org_id: OrgId, customer_id: int) -> list[Enrolment] | None:
    """The customer's enrolments in program order; None when the org has no such customer."""
    rows = await conn.fetch(_ENROLMENTS, org_id, customer_id)
    if not rows:
        return None
    return [
        Enrolment(int(r["program_id"]), int(r["tier_number"]), r["tier_expiry_date"])
        for r in rows
        if r["program_id"] is not None
    ]
