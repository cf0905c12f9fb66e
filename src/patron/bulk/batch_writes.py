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
from patron.events.model import events_for
from patron.orgs.model import OrgId


@dataclass(slots=True)
class Registration:
    """A registration plan without errors and the request id its rows carry."""

    plan: Plan
    request_id: str


async def _customer_ids(conn: Connection, count: int) -> list[int]:
    if conn.dialect == "postgresql":
        rows = await conn.fetch(
            "SELECT nextval('customer_id_seq') FROM generate_series(1, $1)", count
        )
        return [int(r[0]) for r in rows]
    # SQLite: MAX(id) + 1 under the write lock this transaction holds, as for one registration.
    top = int(await conn.fetchval("SELECT COALESCE(MAX(id), 0) FROM customers"))
    return list(range(top + 1, top + 1 + count))


async def _outbox_ids(conn: Connection, count: int) -> list[int]:
    if conn.dialect == "postgresql":
        rows = await conn.fetch(
            "SELECT nextval('outbox_id_seq') FROM generate_series(1, $1)", count
        )
        return [int(r[0]) for r in rows]
    # Ids follow the rowids SQLite gives the rows, as for the events of one write.
    top = int(await conn.fetchval("SELECT COALESCE(MAX(rowid), 0) FROM outbox"))
    return list(range(top + 1, top + 1 + count))


async def store(
    conn: Connection, org_id: OrgId, items: list[Registration], *, actor: Actor, now: datetime
) -> list[int]:
    """Store every registration and its events; returns the new customer ids, in order."""
    if not items:
        return []
    ids = await _customer_ids(conn, len(items))
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
    outbox_ids = await _outbox_ids(conn, len(events))
    rows["outbox"] = [
        (org_id, oid, e.event_id, e.subject, e.payload, now)
        for oid, e in zip(outbox_ids, events, strict=True)
    ]
    for table, columns in _COLUMNS.items():
        if rows[table]:
            await conn.copy_records(table, columns, rows[table])
    return ids


_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "org_id", "id", "version", "loyalty_type", "extended_fields", "created_at", "modified_at",
    ),
    "profiles": (
        "org_id", "customer_id", "source", "account_id", "first_name", "last_name", "fields",
        "created_at", "created_by", "created_by_type", "modified_at", "modified_by",
        "modified_by_type",
    ),
    "identifiers": ("org_id", "source", "account_id", "type", "value", "customer_id", "position"),
    "comm_channels": (
        "org_id", "customer_id", "source", "account_id", "type", "value", "is_primary",
        "verified", "meta", "position",
    ),
    "enrolments": (
        "org_id", "customer_id", "program_id", "tier_number", "tier_expiry_date", "enrolled_at",
    ),
    "points_ledger": (
        "org_id", "customer_id", "version", "program_id", "points", "expires_at", "credited_at",
        "request_id",
    ),
    "customer_history": (
        "org_id", "customer_id", "version", "at", "request_id", "actor_code", "actor_type",
        "changes",
    ),
    "outbox": ("org_id", "id", "event_id", "subject", "payload", "created_at"),
}  # fmt: skip
"""Tables in the order their foreign keys need, with the columns each COPY fills."""
