"""Every SQL statement the relay runs on the outbox: pending events, marking, counting, purging.

Events are written by `patron.customers.writes` in the transaction of the change they describe;
this module only reads them back in id order and records their publication. The outbox spans
orgs (the relay publishes for all of them), so these statements take no `OrgId`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.db.driver import Connection

RELAY_LOCK = 0x70617472_6F6E0001
"""The PostgreSQL advisory lock the publishing relay holds for one batch (`patr` `on` 1)."""


@dataclass(frozen=True, slots=True)
class Pending:
    """An outbox row not yet acknowledged by JetStream."""

    org_id: str
    id: int
    event_id: str
    subject: str
    payload: str


async def take_turn(conn: Connection) -> bool:
    """On PostgreSQL, claim the publisher's turn for this transaction; False if another relay has it.

    Several relays may run for availability, but one publishes at a time: a second relay working on
    the rows the first one skipped could publish a customer's later event before its earlier one.
    SQLite has one relay per file (its single writer), so the turn is always ours.
    """
    if conn.dialect != "postgresql":
        return True
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK))


async def pending(conn: Connection, limit: int) -> list[Pending]:
    """The oldest `limit` unpublished events, in id order; on PostgreSQL locked until commit."""
    # SKIP LOCKED: a row another transaction is publishing is left to it rather than waited for
    # or published twice at once.
    lock = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
    rows = await conn.fetch(
        "SELECT org_id, id, event_id, subject, payload FROM outbox"
        f" WHERE published_at IS NULL ORDER BY id LIMIT $1{lock}",
        limit,
    )
    return [
        Pending(r["org_id"], int(r["id"]), r["event_id"], r["subject"], r["payload"]) for r in rows
    ]


async def mark_published(conn: Connection, events: list[Pending], at: datetime) -> None:
    """Record JetStream's acknowledgement of `events`."""
    if not events:
        return
    if conn.dialect == "postgresql":
        # One statement for the batch; (org_id, id) is the primary key.
        await conn.execute(
            "UPDATE outbox SET published_at = $1 FROM unnest($2::text[], $3::bigint[]) AS k(org_id, id)"
            " WHERE outbox.org_id = k.org_id AND outbox.id = k.id",
            at,
            [e.org_id for e in events],
            [e.id for e in events],
        )
        return
    await conn.executemany(
        "UPDATE outbox SET published_at = $1 WHERE org_id = $2 AND id = $3",
        [(at, e.org_id, e.id) for e in events],
    )


async def count_pending(conn: Connection, *, cap: int | None = None) -> int:
    """How many events wait for publication; with `cap`, counting stops there (at most `cap`)."""
    if cap is None:
        return int(await conn.fetchval("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"))
    # Counted after every batch: a full count of a backlog of millions would cost each batch a
    # scan of the backlog, and the relay's catch-up would slow down as it goes.
    return int(
        await conn.fetchval(
            "SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT $1) p",
            cap,
        )
    )


async def purge_published(conn: Connection, before: datetime, limit: int) -> int:
    """Delete at most `limit` events published before `before`; returns how many went."""
    # Bounded, so one purge never holds locks (or SQLite's write lock) for long. On SQLite the
    # newest row always stays: ids come from MAX(rowid) + 1 and must never go back.
    keep_last = (
        "" if conn.dialect == "postgresql" else " AND rowid < (SELECT MAX(rowid) FROM outbox)"
    )
    rows = await conn.fetch(
        "DELETE FROM outbox WHERE (org_id, id) IN (SELECT org_id, id FROM outbox"
        f" WHERE published_at IS NOT NULL AND published_at < $1{keep_last} LIMIT $2)"
        " RETURNING id",
        before,
        limit,
    )
    return len(rows)
