"""The SQL that reads a customer's consent states (they are written by `patron.customers.writes`)."""

from __future__ import annotations

from patron.db.driver import Connection
from patron.orgs.model import OrgId


async def states(conn: Connection, org_id: OrgId, customer_id: int) -> dict[tuple[str, str], str]:
    """Every (channel, priority) ever set for the customer, with its state."""
    rows = await conn.fetch(
        "SELECT channel, priority, type FROM subscriptions WHERE org_id = $1 AND customer_id = $2",
        org_id,
        customer_id,
    )
    return {(r["channel"], r["priority"]): r["type"] for r in rows}


async def version(conn: Connection, org_id: OrgId, customer_id: int) -> int | None:
    """The customer's version (its ETag), or None when the org has no such customer."""
    found = await conn.fetchval(
        "SELECT version FROM customers WHERE org_id = $1 AND id = $2", org_id, customer_id
    )
    return None if found is None else int(found)
