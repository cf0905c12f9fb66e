"""The SQL that stores a plan: the customer row, its profiles, identifiers, channels,
enrolments, points credits, the history entry and the change events (the outbox).

On SQLite each kind of row is one `executemany` (statements cost microseconds, not round trips).
On PostgreSQL an update is ONE statement: data-modifying CTEs, each fed by a `jsonb` parameter
through `jsonb_to_recordset`, so the whole write costs one round trip. Foreign keys between the
CTEs hold because PostgreSQL checks them at the end of the statement.

The events of a write (`patron.events.model.events_for`) go to the outbox in the same transaction,
so an event exists exactly when the change it describes is committed. Their outbox ids follow the
order `events_for` gives them (registered or updated first, then enrolments, then credits).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from patron.customers.model import Actor, Channel, Customer, Profile
from patron.customers.planner import Plan
from patron.db.driver import Connection
from patron.events.model import Event, events_for
from patron.orgs.model import OrgId


async def insert_customer(conn: Connection, org_id: OrgId, customer: Customer) -> int:
    """Insert a new customer row and return its id."""
    next_id = (
        "nextval('customer_id_seq')"
        if conn.dialect == "postgresql"
        else "(SELECT COALESCE(MAX(id), 0) + 1 FROM customers)"
    )
    new_id = await conn.fetchval(
        "INSERT INTO customers (org_id, id, version, loyalty_type, extended_fields, created_at, modified_at)"
        f" VALUES ($1, {next_id}, $2, $3, $4, $5, $5) RETURNING id",
        org_id,
        customer.version,
        customer.loyalty_type,
        customer.extended_fields,
        customer.modified_at,
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
    # The history entry and the events carry the same list.
    changes = [ch.to_wire() for ch in plan.changes]

    def events() -> list[Event]:
        # Built once the customer's id is known (a registration gets it from the insert).
        return events_for(
            plan,
            org_code=org_id,
            customer_id=c.id,
            request_id=request_id,
            actor=actor,
            now=now,
            registered=new,
            changes=changes,
        )

    if conn.dialect == "postgresql" and not new:
        await _update_in_one_statement(
            conn, org_id, plan, changes, events(), request_id=request_id, actor=actor, now=now
        )
        return c.id
    w = plan.writes
    if new:
        c.id = await insert_customer(conn, org_id, c)
    else:
        await conn.execute(
            "UPDATE customers SET version = $3, loyalty_type = $4, extended_fields = $5, modified_at = $6"
            " WHERE org_id = $1 AND id = $2",
            org_id,
            c.id,
            c.version,
            c.loyalty_type,
            c.extended_fields,
            now,
        )
    if w.new_profiles:
        await conn.executemany(
            "INSERT INTO profiles (org_id, customer_id, source, account_id, first_name, last_name, fields,"
            " created_at, created_by, created_by_type, modified_at, modified_by, modified_by_type)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8, $9, $10)",
            [
                (
                    org_id,
                    c.id,
                    *key,
                    p.first_name,
                    p.last_name,
                    p.fields,
                    now,
                    actor.code,
                    actor.type,
                )
                for key in w.new_profiles
                for p in (c.profiles[key],)
            ],
        )
    updated = [k for k in w.touched_profiles if k not in w.new_profiles]
    if updated:
        await conn.executemany(
            "UPDATE profiles SET first_name = $5, last_name = $6, fields = $7, modified_at = $8,"
            " modified_by = $9, modified_by_type = $10"
            " WHERE org_id = $1 AND customer_id = $2 AND source = $3 AND account_id = $4",
            [
                (
                    org_id,
                    c.id,
                    *key,
                    p.first_name,
                    p.last_name,
                    p.fields,
                    now,
                    actor.code,
                    actor.type,
                )
                for key in updated
                for p in (c.profiles[key],)
            ],
        )
    if w.new_identifiers:
        await conn.executemany(
            "INSERT INTO identifiers (org_id, source, account_id, type, value, customer_id, position)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                (org_id, key[0], key[1], t, v, c.id, c.profiles[key].identifiers.index((t, v)))
                for key, t, v in w.new_identifiers
            ],
        )
    if w.channels:
        await conn.executemany(
            "INSERT INTO comm_channels (org_id, customer_id, source, account_id, type, value, is_primary,"
            " verified, meta, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " ON CONFLICT (org_id, customer_id, source, account_id, type, value) DO UPDATE SET"
            " is_primary = excluded.is_primary, verified = excluded.verified, meta = excluded.meta",
            [
                (
                    org_id,
                    c.id,
                    *key,
                    ch.type,
                    ch.value,
                    ch.primary,
                    ch.verified,
                    ch.meta,
                    _position(c.profiles[key], ch),
                )
                for key, ch in w.channels
            ],
        )
    if w.new_enrolments:
        await conn.executemany(
            "INSERT INTO enrolments (org_id, customer_id, program_id, tier_number, tier_expiry_date,"
            " enrolled_at) VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (org_id, c.id, e.program_id, e.tier_number, e.tier_expiry_date, now)
                for e in w.new_enrolments
            ],
        )
    if w.credits:
        await conn.executemany(
            "INSERT INTO points_ledger (org_id, customer_id, version, program_id, points, expires_at,"
            " credited_at, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (org_id, c.id, c.version, cr.program_id, cr.points, cr.expires_at, now, request_id)
                for cr in w.credits
            ],
        )
    await conn.execute(
        "INSERT INTO customer_history (org_id, customer_id, version, at, request_id, actor_code,"
        " actor_type, changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        org_id,
        c.id,
        c.version,
        now,
        request_id,
        actor.code,
        actor.type,
        changes,
    )
    await insert_events(conn, org_id, events(), now)
    return c.id


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


def _position(profile: Profile, channel: Channel) -> int:
    return next(i for i, ch in enumerate(profile.channels) if ch is channel)


_RECORD = {
    "new_profiles": "source text, account_id text, first_name text, last_name text, fields jsonb",
    "profiles": "source text, account_id text, first_name text, last_name text, fields jsonb",
    "identifiers": "source text, account_id text, type text, value text, position int",
    "channels": (
        "source text, account_id text, type text, value text, is_primary boolean, verified boolean,"
        " meta jsonb, position int"
    ),
    "enrolments": "program_id bigint, tier_number int, tier_expiry_date text",
    "credits": "program_id bigint, points bigint, expires_at timestamptz",
}

_PARTS = {
    "new_profiles": (
        "INSERT INTO profiles (org_id, customer_id, source, account_id, first_name, last_name, fields,"
        " created_at, created_by, created_by_type, modified_at, modified_by, modified_by_type)"
        " SELECT $1, $2, r.source, r.account_id, r.first_name, r.last_name, r.fields, $6, $7, $8, $6, $7, $8"
        " FROM {rows}"
    ),
    "profiles": (
        "UPDATE profiles p SET first_name = r.first_name, last_name = r.last_name, fields = r.fields,"
        " modified_at = $6, modified_by = $7, modified_by_type = $8 FROM {rows}"
        " WHERE p.org_id = $1 AND p.customer_id = $2 AND p.source = r.source AND p.account_id = r.account_id"
    ),
    "identifiers": (
        "INSERT INTO identifiers (org_id, source, account_id, type, value, customer_id, position)"
        " SELECT $1, r.source, r.account_id, r.type, r.value, $2, r.position FROM {rows}"
    ),
    "channels": (
        "INSERT INTO comm_channels (org_id, customer_id, source, account_id, type, value, is_primary,"
        " verified, meta, position)"
        " SELECT $1, $2, r.source, r.account_id, r.type, r.value, r.is_primary, r.verified, r.meta, r.position"
        " FROM {rows} ON CONFLICT (org_id, customer_id, source, account_id, type, value) DO UPDATE SET"
        " is_primary = excluded.is_primary, verified = excluded.verified, meta = excluded.meta"
    ),
    "enrolments": (
        "INSERT INTO enrolments (org_id, customer_id, program_id, tier_number, tier_expiry_date, enrolled_at)"
        " SELECT $1, $2, r.program_id, r.tier_number, r.tier_expiry_date, $6 FROM {rows}"
    ),
    "credits": (
        "INSERT INTO points_ledger (org_id, customer_id, version, program_id, points, expires_at,"
        " credited_at, request_id) SELECT $1, $2, $3, r.program_id, r.points, r.expires_at, $6, $9 FROM {rows}"
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


@cache
def _update_sql(parts: tuple[str, ...]) -> str:
    """The one statement of an update touching `parts` (a handful of shapes, each prepared once)."""
    ctes = [
        "c AS (UPDATE customers SET version = $3, loyalty_type = $4, extended_fields = $5,"
        " modified_at = $6 WHERE org_id = $1 AND id = $2)",
        _OUTBOX_CTE,
    ]
    for n, part in enumerate(parts, start=14):
        rows = f"jsonb_to_recordset(${n}::jsonb) AS r({_RECORD[part]})"
        ctes.append(f"w{n} AS ({_PARTS[part].format(rows=rows)})")
    return (
        "WITH "
        + ", ".join(ctes)
        + " INSERT INTO customer_history (org_id, customer_id, version, at,"
        " request_id, actor_code, actor_type, changes) VALUES ($1, $2, $3, $6, $9, $7, $8, $10)"
    )


async def _update_in_one_statement(
    conn: Connection,
    org_id: OrgId,
    plan: Plan,
    changes: list[dict[str, Any]],
    events: list[Event],
    *,
    request_id: str,
    actor: Actor,
    now: datetime,
) -> None:
    c = plan.customer
    w = plan.writes
    updated = [k for k in w.touched_profiles if k not in w.new_profiles]

    def profile_row(key: tuple[str, str]) -> dict[str, Any]:
        p = c.profiles[key]
        return {
            "source": key[0],
            "account_id": key[1],
            "first_name": p.first_name,
            "last_name": p.last_name,
            "fields": p.fields,
        }

    rows: dict[str, list[dict[str, Any]]] = {
        "new_profiles": [profile_row(k) for k in w.new_profiles],
        "profiles": [profile_row(k) for k in updated],
        "identifiers": [
            {
                "source": k[0],
                "account_id": k[1],
                "type": t,
                "value": v,
                "position": c.profiles[k].identifiers.index((t, v)),
            }
            for k, t, v in w.new_identifiers
        ],
        "channels": [
            {
                "source": k[0],
                "account_id": k[1],
                "type": ch.type,
                "value": ch.value,
                "is_primary": ch.primary,
                "verified": ch.verified,
                "meta": ch.meta,
                "position": _position(c.profiles[k], ch),
            }
            for k, ch in w.channels
        ],
        "enrolments": [
            {
                "program_id": e.program_id,
                "tier_number": e.tier_number,
                "tier_expiry_date": e.tier_expiry_date,
            }
            for e in w.new_enrolments
        ],
        "credits": [
            {"program_id": cr.program_id, "points": cr.points, "expires_at": cr.expires_at}
            for cr in w.credits
        ],
    }
    parts = tuple(name for name in _PARTS if rows[name])
    await conn.execute(
        _update_sql(parts),
        org_id,
        c.id,
        c.version,
        c.loyalty_type,
        c.extended_fields,
        now,
        actor.code,
        actor.type,
        request_id,
        changes,
        [e.event_id for e in events],
        [e.subject for e in events],
        [e.payload for e in events],
        *(rows[name] for name in parts),
    )
