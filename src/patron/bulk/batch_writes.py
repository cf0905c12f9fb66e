"""Storing many planned registrations at once: ids in bulk, then one COPY per table.

The rows are `patron.customers.rows.rows_of` of each plan, the same description the API's
writers store (a test compares the stored rows), placed in COPY records in column order; so a
customer imported in a batch cannot be told from one registered through the API except by its
request id and actor.

Building the records (`records`) needs no database, so the import's preparing processes build
them beside the plans. For PostgreSQL they also encode them in COPY's text form (`as_text`), so
the importing process receives bytes and streams them in unchanged; `copy` then only numbers the
events. SQLite, which has no COPY, takes the records as rows.

Foreign keys checked per batch (PostgreSQL, `checks_per_batch`): PostgreSQL checks a foreign key
row by row, each check a query of its own, and for an import's new customers that was about a
third of the database's work. Every row of a batch refers either to a row of the same batch (a
customer's identifiers, history and enrolments to the customer the same records create, a credit
to the enrolment beside it: `_add` writes them all with the one customer id) or to a row outside
the customer tables: the org, and the tiers its enrolments name (`OUTSIDE_REFERENCES`). So
`copy` locks those outside rows as the per-row checks would (`FOR KEY SHARE`, so nobody deletes
them before the batch commits), checks that every one exists, and only then streams the
records with the per-row checks off (`session_replication_role = replica`, for the COPY
statements only). A batch that names a row that is missing is stored with the per-row checks on,
which refuse it as before.
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
from patron.db.columns import COPY_COLUMNS, CUSTOMER_ROW_TABLES
from patron.db.copy_text import encode, text_field
from patron.db.driver import Connection, JsonText
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
    tiers: set[tuple[int, int]] = field(default_factory=set)
    """The (program id, tier number) of every tier the enrolments name."""


@dataclass(slots=True)
class CopyText:
    """A batch's records in COPY's text form: per customer table, the data to stream in; per
    event, its outbox fields after the org and id (`event_id`, `subject`, `payload`)."""

    tables: dict[str, bytes]
    events: list[str]
    tiers: list[tuple[int, int]] = field(default_factory=list)
    """The tiers the enrolments name (`Records.tiers`), sorted."""


def as_text(batch: Records) -> CopyText:
    """The records in COPY's text form, for PostgreSQL. Pure."""
    return CopyText(
        {table: encode(rows) for table, rows in batch.rows.items() if rows},
        [
            f"{text_field(e.event_id)}\t{text_field(e.subject)}\t{text_field(e.payload)}"
            for e in batch.events
        ],
        sorted(batch.tiers),
    )


def joined(parts: list[CopyText]) -> CopyText:
    """The text of a batch built in parts, in the parts' order. Pure."""
    tables: dict[str, list[bytes]] = {}
    for part in parts:
        for table, data in part.tables.items():
            tables.setdefault(table, []).append(data)
    return CopyText(
        {table: b"".join(tables[table]) for table in CUSTOMER_ROW_TABLES if table in tables},
        [event for part in parts for event in part.events],
        sorted({tier for part in parts for tier in part.tiers}),
    )


OUTSIDE_REFERENCES = frozenset({"orgs", "tiers"})
"""The tables outside the customer tables that a batch's rows refer to; `copy` holds and checks
those rows itself when the per-row checks are off (a test keeps this equal to the schema's
foreign keys)."""

_HAS_TRIGGERS = """
SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = ANY($1::regclass[]) AND NOT tgisinternal)
"""


async def checks_per_batch(conn: Connection) -> bool:
    """Whether batches stored over `conn` may have their foreign keys checked per batch.

    Only on PostgreSQL (not Citus, whose shards check their own keys), when the role may set
    `session_replication_role` (a superuser, or `GRANT SET ON PARAMETER` on PostgreSQL 15 and
    later), and when no one has put triggers of their own on the tables: turning the per-row
    checks off turns those off too, so with any there the import keeps the per-row checks."""
    if conn.dialect != "postgresql":
        return False
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"):
        return False
    if await conn.fetchval(_HAS_TRIGGERS, [*CUSTOMER_ROW_TABLES, "outbox"]):
        return False
    if await conn.fetchval("SELECT current_setting('is_superuser') = 'on'"):
        return True
    if int(await conn.fetchval("SELECT current_setting('server_version_num')")) < 150000:
        return False
    return bool(
        await conn.fetchval("SELECT has_parameter_privilege('session_replication_role', 'SET')")
    )


async def _hold_outside_rows(conn: Connection, org_id: OrgId, tiers: list[tuple[int, int]]) -> bool:
    """Lock the org's row and the named tiers as the per-row checks would; whether all exist."""
    if not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM orgs WHERE org_id = $1 FOR KEY SHARE)", org_id
    ):
        return False
    if not tiers:
        return True
    found = await conn.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM tiers t"
        " JOIN unnest($2::bigint[], $3::int[]) AS n(program_id, number)"
        " ON t.program_id = n.program_id AND t.number = n.number"
        " WHERE t.org_id = $1 FOR KEY SHARE OF t) AS held",
        org_id,
        [p for p, _ in tiers],
        [n for _, n in tiers],
    )
    return int(found) == len(tiers)


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
        _add(out.rows, out.tiers, written)
        out.events += written.events
    return out


async def copy(
    conn: Connection,
    org_id: OrgId,
    batch: Records | CopyText,
    now: datetime,
    *,
    per_batch: bool = False,
) -> None:
    """Store the records and their events (the outbox ids taken here, in the events' order).

    `per_batch`: the foreign keys may be checked per batch (`checks_per_batch` said so)."""
    outbox_ids = await new_ids(conn, "outbox", len(batch.events))
    if conn.dialect == "postgresql":
        text = batch if isinstance(batch, CopyText) else as_text(batch)
        relaxed = per_batch and await _hold_outside_rows(conn, org_id, text.tiers)
        if relaxed:
            await conn.execute("SET LOCAL session_replication_role = replica")
        for table, data in text.tables.items():
            await conn.copy_text(table, COPY_COLUMNS[table], data)
        if text.events:
            head, tail = text_field(org_id), text_field(now)
            outbox_text = "".join(
                f"{head}\t{oid}\t{fields}\t{tail}\n"
                for oid, fields in zip(outbox_ids, text.events, strict=True)
            )
            await conn.copy_text("outbox", COPY_COLUMNS["outbox"], outbox_text.encode())
        if relaxed:
            await conn.execute("SET LOCAL session_replication_role = origin")
        return
    if isinstance(batch, CopyText):
        raise TypeError("COPY text data reached an SQLite database")
    outbox = [
        (org_id, oid, e.event_id, e.subject, e.payload, now)
        for oid, e in zip(outbox_ids, batch.events, strict=True)
    ]
    for table, columns in COPY_COLUMNS.items():
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
    per_batch: bool = False,
) -> list[int]:
    """Store every registration and its events; returns the customer ids, in order (`ids`,
    when they were taken already, otherwise new ones; `per_batch` as for `copy`)."""
    if not items:
        return []
    if ids is None:
        ids = await new_ids(conn, "customers", len(items))
    batch = records(org_id, items, ids, actor=actor, now=now)
    await copy(conn, org_id, batch, now, per_batch=per_batch)
    return ids


def _json(value: Any) -> JsonText:
    # Encoded where the records are built (a preparing process), so the importing process
    # receives and streams text rather than unpickling and encoding trees of dicts.
    return JsonText(orjson.dumps(value).decode())


def _add(
    rows: dict[str, list[tuple[Any, ...]]], tiers: set[tuple[int, int]], written: PlanRows
) -> None:
    """A registration's rows as COPY records, every column in the table's order; the tiers its
    enrolments name go to `tiers`."""
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
        tiers.add((e["program_id"], e["tier_number"]))
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
