"""Storing many planned registrations at once: ids in bulk, then one COPY per table.

The rows are exactly those `patron.customers.writes.apply` stores for a registration (a test
compares them), plus the registration's change events in the outbox, so a customer imported in
a batch cannot be told from one registered through the API except by its request id and actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.customers.model import Actor
from patron.customers.planner import Plan
from patron.db.driver import Connection
from patron.db.tables import CUSTOMER_ROW_TABLES, column_names
from patron.events.model import events_for
from patron.orgs.model import OrgId


@dataclass(slots=True)
class Registration:
    """A registration plan without errors and the request id its rows carry."""

    plan: Plan
    request_id: str


_ID_SOURCES = {"customers": ("customer_id_seq", "id"), "outbox": ("outbox_id_seq", "rowid")}
"""Per table: the PostgreSQL sequence, and the SQLite column whose MAX + 1 a single write uses
(customers: MAX(id) + 1; outbox ids follow the rowids SQLite gives the rows)."""


async def _ids(conn: Connection, table: str, count: int) -> list[int]:
    """`count` new ids for `table`, allocated the way one API write allocates them."""
    sequence, column = _ID_SOURCES[table]
    if conn.dialect == "postgresql":
        rows = await conn.fetch(f"SELECT nextval('{sequence}') FROM generate_series(1, $1)", count)
        return [int(r[0]) for r in rows]
    # Under the write lock this transaction holds, nobody else takes ids meanwhile.
    top = int(await conn.fetchval(f"SELECT COALESCE(MAX({column}), 0) FROM {table}"))
    return list(range(top + 1, top + 1 + count))


async def store(
    conn: Connection, org_id: OrgId, items: list[Registration], *, actor: Actor, now: datetime
) -> list[int]:
    """Store every registration and its events; returns the new customer ids, in order."""
    if not items:
        return []
    ids = await _ids(conn, "customers", len(items))
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _COLUMNS}
    events = []
    attribution = (now, actor.code, actor.type, now, actor.code, actor.type)
    for item, new_id in zip(items, ids, strict=True):
        c = item.plan.customer
        c.id = new_id
        w = item.plan.writes
        rows["customers"].append(
            (org_id, new_id, c.version, c.loyalty_type, c.extended_fields, now, now)
        )
        for key in w.new_profiles:
            p = c.profiles[key]
            rows["profiles"].append(
                (org_id, new_id, *key, p.first_name, p.last_name, p.fields, *attribution)
            )
        for key, type_, value in w.new_identifiers:
            position = c.profiles[key].identifiers.index((type_, value))
            rows["identifiers"].append((org_id, *key, type_, value, new_id, position))
        # One row per channel: a channel written twice by one plan keeps its last state, as the
        # API's upsert does.
        channels = {(key, ch.type, ch.value): (key, ch) for key, ch in w.channels}
        for key, ch in channels.values():
            position = next(i for i, x in enumerate(c.profiles[key].channels) if x is ch)
            rows["comm_channels"].append(
                (
                    org_id,
                    new_id,
                    *key,
                    ch.type,
                    ch.value,
                    ch.primary,
                    ch.verified,
                    ch.meta,
                    position,
                )
            )
        for e in w.new_enrolments:
            rows["enrolments"].append(
                (org_id, new_id, e.program_id, e.tier_number, e.tier_expiry_date, now)
            )
        for cr in w.credits:
            rows["points_ledger"].append(
                (
                    org_id,
                    new_id,
                    c.version,
                    cr.program_id,
                    cr.points,
                    cr.expires_at,
                    now,
                    item.request_id,
                )
            )
        changes = [ch.to_wire() for ch in item.plan.changes]
        rows["customer_history"].append(
            (org_id, new_id, c.version, now, item.request_id, actor.code, actor.type, changes)
        )
        events += events_for(
            item.plan,
            org_code=org_id,
            customer_id=new_id,
            request_id=item.request_id,
            actor=actor,
            now=now,
            registered=True,
            changes=changes,
        )
    outbox_ids = await _ids(conn, "outbox", len(events))
    rows["outbox"] = [
        (org_id, oid, e.event_id, e.subject, e.payload, now)
        for oid, e in zip(outbox_ids, events, strict=True)
    ]
    for table, columns in _COLUMNS.items():
        if rows[table]:
            await conn.copy_records(table, columns, rows[table])
    return ids


_COLUMNS: dict[str, tuple[str, ...]] = {
    table: column_names(table, without=frozenset({"published_at"}))
    for table in (*CUSTOMER_ROW_TABLES, "outbox")
}
"""Tables in the order their foreign keys need, with the columns each COPY fills (every column
but the outbox's `published_at`, which stays NULL until the relay sets it)."""
