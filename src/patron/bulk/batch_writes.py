"""Storing many planned registrations at once: ids in bulk, then one COPY per table.

The rows are `patron.customers.rows.rows_of` of each plan, the same description the API's
writers store (a test compares the stored rows), placed in COPY records in column order; so a
customer imported in a batch cannot be told from one registered through the API except by its
request id and actor.

Building the records (`records`) needs no database, so the import's preparing processes build
them beside the plans. For PostgreSQL they also encode them in COPY's text form (`as_text`), so
the importing process receives bytes and streams them in unchanged; `copy` then only numbers the
events. SQLite, which has no COPY, takes the records as rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from patron.customers.events import Event
from patron.customers.model import Actor
from patron.customers.planner import Plan
from patron.customers.rows import PlanRows, Stamp, rows_of
from patron.db.copy_text import encode, text_field
from patron.db.driver import Connection, JsonText
from patron.db.tables import CUSTOMER_ROW_TABLES, column_names
from patron.orgs.model import OrgId


@dataclass(slots=True)
class Registration:
    """A registration plan without errors and the request id its rows carry."""

    plan: Plan
    request_id: str


@dataclass(slots=True)
class Records:
    """The COPY records of a batch of registrations, per customer table, and their events."""

    rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {table: [] for table in CUSTOMER_ROW_TABLES}
    )
    events: list[Event] = field(default_factory=list)
    """In the order their outbox ids follow (numbered by `copy`, in its transaction)."""


@dataclass(slots=True)
class CopyText:
    """A batch's records in COPY's text form: per customer table, the data to stream in; per
    event, its outbox fields after the org and id (`event_id`, `subject`, `payload`)."""

    tables: dict[str, bytes]
    events: list[str]


def as_text(batch: Records) -> CopyText:
    """The records in COPY's text form, for PostgreSQL. Pure."""
    return CopyText(
        {table: encode(rows) for table, rows in batch.rows.items() if rows},
        [
            f"{text_field(e.event_id)}\t{text_field(e.subject)}\t{text_field(e.payload)}"
            for e in batch.events
        ],
    )


_ID_SOURCES = {"customers": ("customer_id_seq", "id"), "outbox": ("outbox_id_seq", "rowid")}
"""Per table: the PostgreSQL sequence, and the SQLite column whose MAX + 1 a single write uses
(customers: MAX(id) + 1; outbox ids follow the rowids SQLite gives the rows)."""


async def new_ids(conn: Connection, table: str, count: int) -> list[int]:
    """`count` new ids for `table` ("customers" or "outbox"), allocated as one API write does."""
    if count == 0:
        return []
    sequence, column = _ID_SOURCES[table]
    if conn.dialect == "postgresql":
        rows = await conn.fetch(f"SELECT nextval('{sequence}') FROM generate_series(1, $1)", count)
        return [int(r[0]) for r in rows]
    # Under the write lock this transaction holds, nobody else takes ids meanwhile.
    top = int(await conn.fetchval(f"SELECT COALESCE(MAX({column}), 0) FROM {table}"))
    return list(range(top + 1, top + 1 + count))


def records(
    org_id: OrgId, items: list[Registration], ids: list[int], *, actor: Actor, now: datetime
) -> Records:
    """The records that store each registration under its new id (in order). Pure."""
    out = Records()
    for item, new_id in zip(items, ids, strict=True):
        c = item.plan.customer
        c.id = new_id
        written = rows_of(
            item.plan,
            Stamp(org_id, new_id, c.version, now, actor, item.request_id),
            registered=True,
        )
        _add(out.rows, written)
        out.events += written.events
    return out


async def copy(conn: Connection, org_id: OrgId, batch: Records | CopyText, now: datetime) -> None:
    """Store the records and their events (the outbox ids taken here, in the events' order)."""
    outbox_ids = await new_ids(conn, "outbox", len(batch.events))
    if conn.dialect == "postgresql":
        text = batch if isinstance(batch, CopyText) else as_text(batch)
        for table, data in text.tables.items():
            await conn.copy_text(table, _COLUMNS[table], data)
        if text.events:
            head, tail = text_field(org_id), text_field(now)
            outbox_text = "".join(
                f"{head}\t{oid}\t{fields}\t{tail}\n"
                for oid, fields in zip(outbox_ids, text.events, strict=True)
            )
            await conn.copy_text("outbox", _COLUMNS["outbox"], outbox_text.encode())
        return
    if isinstance(batch, CopyText):
        raise TypeError("COPY text data reached an SQLite database")
    outbox = [
        (org_id, oid, e.event_id, e.subject, e.payload, now)
        for oid, e in zip(outbox_ids, batch.events, strict=True)
    ]
    for table, columns in _COLUMNS.items():
        rows = outbox if table == "outbox" else batch.rows[table]
        if rows:
            await conn.copy_records(table, columns, rows)


async def store(
    conn: Connection,
    org_id: OrgId,
    items: list[Registration],
    *,
    actor: Actor,
    now: datetime,
    ids: list[int] | None = None,
) -> list[int]:
    """Store every registration and its events; returns the customer ids, in order (`ids`,
    when they were taken already, otherwise new ones)."""
    if not items:
        return []
    if ids is None:
        ids = await new_ids(conn, "customers", len(items))
    await copy(conn, org_id, records(org_id, items, ids, actor=actor, now=now), now)
    return ids


def _json(value: Any) -> JsonText:
    # Encoded where the records are built (a preparing process), so the importing process
    # receives and streams text rather than unpickling and encoding trees of dicts.
    return JsonText(orjson.dumps(value).decode())


def _add(rows: dict[str, list[tuple[Any, ...]]], written: PlanRows) -> None:
    """A registration's rows as COPY records, every column in the table's order."""
    s = written.stamp
    parts = written.parts
    org, cid = s.org_id, s.customer_id
    customer = written.customer
    rows["customers"].append(
        (
            org,
            cid,
            s.version,
            customer["loyalty_type"],
            _json(customer["extended_fields"]),
            s.now,
            s.now,
            _json(customer["profiles"]),
        )
    )
    for o in parts["owners"]:
        rows["identifier_owners"].append((org, o["type"], o["value"], cid))
    for i in parts["identifiers"]:
        rows["identifiers"].append(
            (org, i["source"], i["account_id"], i["type"], i["value"], cid, i["position"])
        )
    for e in parts["enrolments"]:
        rows["enrolments"].append((org, cid, *e.values(), s.now))
    for cr in parts["credits"]:
        rows["points_ledger"].append(
            (
                org,
                cid,
                s.version,
                cr["program_id"],
                cr["points"],
                cr["expires_at"],
                s.now,
                s.request_id,
                cr["seq"],
            )
        )
    for sub in parts["subscriptions"]:
        rows["subscriptions"].append((org, cid, *sub.values(), s.version, s.now))
    rows["customer_history"].append(
        (
            org,
            cid,
            s.version,
            s.now,
            s.request_id,
            s.actor.code,
            s.actor.type,
            _json(written.changes),
            None if written.context is None else _json(written.context),
        )
    )


_COLUMNS: dict[str, tuple[str, ...]] = {
    table: column_names(table, without=frozenset({"published_at"}))
    for table in (*CUSTOMER_ROW_TABLES, "outbox")
}
"""Tables in the order their foreign keys need, with the columns each COPY fills (every column
but the outbox's `published_at`, which stays NULL until the relay sets it)."""
