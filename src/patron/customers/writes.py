"""The SQL that stores a plan's rows (`patron.customers.rows`): statements for SQLite and for a
registration, ONE statement for an update on PostgreSQL. COPY for the import is
`patron.bulk.batch_writes`.

On SQLite each kind of row is one `executemany` (statements cost microseconds, not round trips).
On PostgreSQL an update is ONE statement: data-modifying CTEs, each fed by a `jsonb` parameter
through `jsonb_to_recordset`, so the whole write costs one round trip. Foreign keys between the
CTEs hold because PostgreSQL checks them at the end of the statement.

The events of a write go to the outbox in the same transaction, so an event exists exactly when
the change it describes is committed. Their outbox ids follow the order the rows list them
(registered or updated first, then enrolments, then credits).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from patron.customers.events import Event
from patron.customers.model import Actor
from patron.customers.planner import Plan
from patron.customers.rows import PARTS, PlanRows, Stamp, customer_row, rows_of
from patron.db.driver import Connection, CustomerChanged
from patron.orgs.model import OrgId


async def insert_customer(
    conn: Connection, org_id: OrgId, row: dict[str, Any], version: int, now: datetime
) -> int:
    """Insert a new customer row (`rows.customer_row`) and return its id."""
    next_id = (
        "nextval('customer_id_seq')"
        if conn.dialect == "postgresql"
        else "(SELECT COALESCE(MAX(id), 0) + 1 FROM customers)"
    )
    new_id = await conn.fetchval(
        "INSERT INTO customers (org_id, id, version, loyalty_type, extended_fields, created_at,"
        f" modified_at, profiles) VALUES ($1, {next_id}, $2, $3, $4, $5, $5, $6) RETURNING id",
        org_id,
        version,
        row["loyalty_type"],
        row["extended_fields"],
        now,
        row["profiles"],
    )
    return int(new_id)


async def apply(
    conn: Connection,
    org_id: OrgId,
    plan: Plan,
    *,
    request_id: str,
    actor: Actor,
    now: datetime,
    new: bool,
) -> int:
    """Store a plan without errors and its events; returns the customer's id (allocated when `new`)."""
    c = plan.customer
    row = None
    if new:
        # The id comes from the insert; the other rows and the events carry it.
        row = customer_row(plan)
        c.id = await insert_customer(conn, org_id, row, c.version, now)
    stamp = Stamp(org_id, c.id, c.version, now, actor, request_id)
    rows = rows_of(plan, stamp, registered=new, customer=row)
    if conn.dialect == "postgresql" and not new:
        await _update_in_one_statement(conn, rows)
    else:
        await _store_by_statements(conn, rows, new=new)
    return c.id


_STATEMENTS = {
    "removed_identifiers": (
        "DELETE FROM identifiers WHERE org_id = $1 AND customer_id = $2 AND source = $3"
        " AND account_id = $4 AND type = $5 AND value = $6"
    ),
    "released_owners": (
        "DELETE FROM identifier_owners WHERE org_id = $1 AND customer_id = $2 AND type = $3"
        " AND value = $4"
    ),
    "owners": (
        "INSERT INTO identifier_owners (org_id, customer_id, type, value) VALUES ($1, $2, $3, $4)"
    ),
    "identifiers": (
        "INSERT INTO identifiers (org_id, customer_id, source, account_id, type, value, position)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ),
    "enrolments": (
        "INSERT INTO enrolments (org_id, customer_id, program_id, tier_number, tier_expiry_date,"
        " enrolled_at) VALUES ($1, $2, $3, $4, $5, $6)"
    ),
    "credits": (
        "INSERT INTO points_ledger (org_id, customer_id, program_id, points, expires_at, seq,"
        " version, credited_at, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ),
    "subscriptions": (
        "INSERT INTO subscriptions (org_id, customer_id, channel, priority, type, version,"
        " changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (org_id, customer_id, channel, priority) DO UPDATE SET"
        " type = excluded.type, version = excluded.version, changed_at = excluded.changed_at"
    ),
}
"""Per part, the statement of one row: `$1` org, `$2` customer id, then the row's own columns in
order, then what the part takes from the stamp (`_stamped`)."""


def _stamped(part: str, s: Stamp) -> tuple[Any, ...]:
    """The stamp's values a row of `part` ends with."""
    if part == "enrolments":
        return (s.now,)
    if part == "credits":
        return (s.version, s.now, s.request_id)
    if part == "subscriptions":
        return (s.version, s.now)
    return ()


async def _store_by_statements(conn: Connection, rows: PlanRows, *, new: bool) -> None:
    """One statement per kind of row (the customer of a registration is inserted already)."""
    s = rows.stamp
    if not new:
        await conn.execute(
            "UPDATE customers SET version = $3, loyalty_type = $4, extended_fields = $5, modified_at = $6,"
            " profiles = COALESCE($7, profiles) WHERE org_id = $1 AND id = $2",
            s.org_id,
            s.customer_id,
            s.version,
            rows.customer["loyalty_type"],
            rows.customer["extended_fields"],
            s.now,
            rows.customer["profiles"],
        )
    for part in PARTS:
        if rows.parts[part]:
            tail = _stamped(part, s)
            await conn.executemany(
                _STATEMENTS[part],
                [(s.org_id, s.customer_id, *r.values(), *tail) for r in rows.parts[part]],
            )
    await conn.execute(
        "INSERT INTO customer_history (org_id, customer_id, version, at, request_id, actor_code,"
        " actor_type, changes, context) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        s.org_id,
        s.customer_id,
        s.version,
        s.now,
        s.request_id,
        s.actor.code,
        s.actor.type,
        rows.changes,
        rows.context,
    )
    await insert_events(conn, s.org_id, rows.events, s.now)


async def insert_events(
    conn: Connection, org_id: OrgId, events: list[Event], now: datetime
) -> None:
    """Append events to the outbox, in list order (one `executemany`)."""
    # SQLite: MAX(rowid) is a lookup of the table's last row, and the new row's rowid is that
    # plus one too, so ids grow with insertion order under SQLite's single writer.
    next_id = (
        "nextval('outbox_id_seq')"
        if conn.dialect == "postgresql"
        else "(SELECT COALESCE(MAX(rowid), 0) + 1 FROM outbox)"
    )
    await conn.executemany(
        "INSERT INTO outbox (org_id, id, event_id, subject, payload, created_at)"
        f" VALUES ($1, {next_id}, $2, $3, $4, $5)",
        [(org_id, e.event_id, e.subject, e.payload, now) for e in events],
    )


_RECORD = {
    "removed_identifiers": "source text, account_id text, type text, value text",
    "released_owners": "type text, value text",
    "owners": "type text, value text",
    "identifiers": "source text, account_id text, type text, value text, position int",
    "enrolments": "program_id bigint, tier_number int, tier_expiry_date text",
    "credits": "program_id bigint, points bigint, expires_at timestamptz, seq int",
    "subscriptions": "channel text, priority text, type text",
}

_PARTS = {
    "removed_identifiers": (
        "DELETE FROM identifiers i USING {rows} WHERE i.org_id = $1 AND i.customer_id = $2"
        " AND i.source = r.source AND i.account_id = r.account_id AND i.type = r.type"
        " AND i.value = r.value"
    ),
    "released_owners": (
        "DELETE FROM identifier_owners o USING {rows} WHERE o.org_id = $1 AND o.customer_id = $2"
        " AND o.type = r.type AND o.value = r.value"
    ),
    "owners": (
        "INSERT INTO identifier_owners (org_id, type, value, customer_id)"
        " SELECT $1, r.type, r.value, $2 FROM {rows}"
    ),
    "identifiers": (
        "INSERT INTO identifiers (org_id, source, account_id, type, value, customer_id, position)"
        " SELECT $1, r.source, r.account_id, r.type, r.value, $2, r.position FROM {rows}"
    ),
    "enrolments": (
        "INSERT INTO enrolments (org_id, customer_id, program_id, tier_number, tier_expiry_date, enrolled_at)"
        " SELECT $1, $2, r.program_id, r.tier_number, r.tier_expiry_date, $6 FROM {rows}"
    ),
    "credits": (
        "INSERT INTO points_ledger (org_id, customer_id, version, program_id, points, expires_at,"
        " seq, credited_at, request_id)"
        " SELECT $1, $2, $3, r.program_id, r.points, r.expires_at, r.seq, $6, $9 FROM {rows}"
    ),
    "subscriptions": (
        "INSERT INTO subscriptions (org_id, customer_id, channel, priority, type, version, changed_at)"
        " SELECT $1, $2, r.channel, r.priority, r.type, $3, $6 FROM {rows}"
        " ON CONFLICT (org_id, customer_id, channel, priority) DO UPDATE SET"
        " type = excluded.type, version = excluded.version, changed_at = excluded.changed_at"
    ),
}


# Every update has at least its `customer.updated` event. Three parallel text arrays rather than a
# jsonb document: the payloads are JSON text already, and escaping them again would cost more.
# The ordinality orders the rows, so ids from the sequence follow the events' order.
_OUTBOX_CTE = (
    "o AS (INSERT INTO outbox (org_id, id, event_id, subject, payload, created_at)"
    " SELECT $1, nextval('outbox_id_seq'), e.event_id, e.subject, e.payload, $6"
    " FROM unnest($11::text[], $12::text[], $13::text[]) WITH ORDINALITY"
    " AS e(event_id, subject, payload, n) ORDER BY e.n)"
)


_CHANGED = " WHERE EXISTS (SELECT 1 FROM c)"
"""In a checked statement, every part but the customer's own row writes only when that row was
updated, so a customer changed since it was read gets nothing written at all."""


@cache
def _update_sql(parts: tuple[str, ...], checked: bool) -> str:
    """The one statement of an update touching `parts` (a handful of shapes, each prepared once).

    `checked`: the customer row is locked (without waiting: a row another transaction holds
    fails the statement) and updated only if its version is still the one read (the new version
    less one), the other parts are written only if it was, and the statement answers a row only
    then. Without a lock held since the read, that is what keeps concurrent writers apart.
    """
    ctes = [
        "c AS (UPDATE customers SET version = $3, loyalty_type = $4, extended_fields = $5,"
        " modified_at = $6, profiles = COALESCE($15, profiles) WHERE org_id = $1 AND id = $2"
        + (" AND EXISTS (SELECT 1 FROM k) RETURNING 1)" if checked else ")"),
        _OUTBOX_CTE.replace(" ORDER BY e.n)", f"{_CHANGED} ORDER BY e.n)")
        if checked
        else _OUTBOX_CTE,
    ]
    for n, part in enumerate(parts, start=16):
        rows = f"jsonb_to_recordset(${n}::jsonb) AS r({_RECORD[part]})"
        if checked:
            rows = f"(SELECT * FROM {rows}{_CHANGED}) AS r"
        ctes.append(f"w{n} AS ({_PARTS[part].format(rows=rows)})")
    if checked:
        ctes.insert(
            0,
            "k AS (SELECT 1 FROM customers WHERE org_id = $1 AND id = $2 AND version = $3 - 1"
            " FOR UPDATE NOWAIT)",
        )
    values = "$1, $2, $3, $6, $9, $7, $8, $10, $14"
    return (
        "WITH "
        + ", ".join(ctes)
        + " INSERT INTO customer_history (org_id, customer_id, version, at,"
        " request_id, actor_code, actor_type, changes, context)"
        + (f" SELECT {values}{_CHANGED} RETURNING 1" if checked else f" VALUES ({values})")
    )


async def _update_in_one_statement(conn: Connection, rows: PlanRows) -> None:
    s = rows.stamp
    parts = tuple(name for name in _PARTS if rows.parts[name])
    events = rows.events
    checked = conn.autocommit
    if checked and not conn.alone_in_time():
        raise CustomerChanged("too little of the deadline left to write outside a transaction")
    stored = await conn.fetchval(
        _update_sql(parts, checked),
        s.org_id,
        s.customer_id,
        s.version,
        rows.customer["loyalty_type"],
        rows.customer["extended_fields"],
        s.now,
        s.actor.code,
        s.actor.type,
        s.request_id,
        rows.changes,
        [e.event_id for e in events],
        [e.subject for e in events],
        [e.payload for e in events],
        rows.context,
        rows.customer["profiles"],
        *(rows.parts[name] for name in parts),
    )
    if checked and stored is None:
        raise CustomerChanged(f"customer {s.customer_id} changed since it was read")
