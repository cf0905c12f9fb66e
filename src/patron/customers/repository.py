"""The SQL that reads and locks customers (writes are in `patron.customers.writes`).

A customer is loaded whole in one statement (its profiles and their channels are JSON in its own
row; its identifiers and enrolments are folded into JSON columns by the database), after a
separate statement locked it (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already
holds the write lock).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from functools import cache
from typing import Any

import orjson

from patron.customers import profiles_doc
from patron.customers.model import Customer, Enrolment, Holder, ProfileKey
from patron.db.driver import Connection, Dialect, Row
from patron.orgs.model import OrgId


@cache
def _select(dialect: Dialect, by_identifier: bool, lock: bool = False) -> str:
    """The aggregate query; $1 org, $2 now, then $3.. the customer id or the identifier."""
    if dialect == "postgresql":
        agg, arr, empty = "json_agg", "json_build_array", "'[]'::json"
    else:
        agg, arr, empty = "json_group_array", "json_array", "json('[]')"

    def folded(columns: str, table: str, alias: str, order: str | None = None) -> str:
        inner = f"SELECT * FROM {table} {alias} WHERE {alias}.org_id = c.org_id AND {alias}.customer_id = c.id"
        if order:
            inner += f" ORDER BY {order}"
        return f"(SELECT COALESCE({agg}({arr}({columns})), {empty}) FROM ({inner}) {alias})"

    points = (
        "(SELECT COALESCE(SUM(l.points), 0) FROM points_ledger l WHERE l.org_id = e.org_id"
        " AND l.customer_id = e.customer_id AND l.program_id = e.program_id"
        " AND (l.expires_at IS NULL OR l.expires_at > $2))"
    )
    columns = ", ".join(
        [
            "c.id, c.version, c.loyalty_type, c.extended_fields, c.created_at, c.modified_at,"
            " c.profiles",
            folded("i.source, i.account_id, i.type, i.value", "identifiers", "i", "i.position")
            + " AS identifiers",
            folded(f"e.program_id, e.tier_number, e.tier_expiry_date, {points}", "enrolments", "e")
            + " AS enrolments",
        ]
    )
    if by_identifier:
        sql = (
            f"SELECT {columns} FROM identifiers x JOIN customers c"
            " ON c.org_id = x.org_id AND c.id = x.customer_id"
            " WHERE x.org_id = $1 AND x.source = $3 AND x.account_id = $4 AND x.type = $5 AND x.value = $6"
        )
    else:
        sql = f"SELECT {columns} FROM customers c WHERE c.org_id = $1 AND c.id = $3"
    if lock:
        # The customer row is re-read at its newest version once the lock is granted, but the
        # folded columns keep the statement's snapshot: `snapshot_version` lets the caller see
        # that another writer committed in between, and load again.
        sql = sql.replace(
            "SELECT c.id,",
            "SELECT (SELECT s.version FROM customers s WHERE s.org_id = c.org_id AND s.id = c.id)"
            " AS snapshot_version, c.id,",
            1,
        )
        sql += " FOR UPDATE OF c"
    return sql


def _json(value: Any) -> Any:
    # SQLite hands back JSON built by json_group_array as text; asyncpg's codec decodes it.
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _ts(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _customer(row: Row) -> Customer:
    customer = Customer(
        id=int(row["id"]),
        version=int(row["version"]),
        loyalty_type=row["loyalty_type"],
        extended_fields=_json(row["extended_fields"]) or {},
        created_at=_ts(row["created_at"]),
        modified_at=_ts(row["modified_at"]),
    )
    profiles_doc.decode(_json(row["profiles"]), customer)
    for src, acc, type_, value in _json(row["identifiers"]):
        customer.profiles[(src, acc)].identifiers.append((type_, value))
    for program_id, tier, expiry, points in _json(row["enrolments"]):
        customer.enrolments[int(program_id)] = Enrolment(
            int(program_id), int(tier), expiry, int(points)
        )
    return customer


async def load(
    conn: Connection, org_id: OrgId, customer_id: int, *, now: datetime
) -> Customer | None:
    """A customer by id, whole."""
    row = await conn.fetchrow(_select(conn.dialect, False), org_id, now, customer_id)
    return None if row is None else _customer(row)


@cache
def _select_page(dialect: Dialect) -> str:
    """The aggregate query for a page of customers in id order; $3 the last id seen, $4 the size."""
    one = _select(dialect, False)
    page = one.replace("WHERE c.org_id = $1 AND c.id = $3", "WHERE c.org_id = $1 AND c.id > $3")
    assert page != one
    return page + " ORDER BY c.id LIMIT $4"


async def load_page(
    conn: Connection, org_id: OrgId, *, after_id: int, limit: int, now: datetime
) -> list[Customer]:
    """Up to `limit` customers whole, with ids above `after_id`, in id order (keyset paging)."""
    rows = await conn.fetch(_select_page(conn.dialect), org_id, now, after_id, limit)
    return [_customer(row) for row in rows]


async def lock_and_load(
    conn: Connection,
    org_id: OrgId,
    *,
    now: datetime,
    customer_id: int | None = None,
    key: ProfileKey | None = None,
    id_type: str = "",
    value: str = "",
) -> Customer | None:
    """Lock a customer (by id, or by identifier in a source/account) and load it whole.

    On PostgreSQL this is one statement, and a second only when another writer committed while
    this one waited for the lock. On SQLite the write transaction already holds the lock. On a
    connection in `autocommit` the customer is read, not locked: its write must check that the
    version read is still the stored one.
    """
    by_identifier = customer_id is None
    args: tuple[Any, ...] = (key[0], key[1], id_type, value) if key is not None else (customer_id,)
    if conn.dialect != "postgresql" or conn.autocommit:
        # SQLite's write transaction holds its lock already; outside a transaction nothing is
        # locked, and the write checks the version it read instead.
        row = await conn.fetchrow(_select(conn.dialect, by_identifier), org_id, now, *args)
        return None if row is None else _customer(row)
    row = await conn.fetchrow(_select(conn.dialect, by_identifier, lock=True), org_id, now, *args)
    if row is None:
        return None
    if row["snapshot_version"] != row["version"]:
        return await load(conn, org_id, int(row["id"]), now=now)
    return _customer(row)


async def find(
    conn: Connection,
    org_id: OrgId,
    key: ProfileKey,
    id_type: str,
    value: str,
    *,
    now: datetime,
) -> Customer | None:
    """The customer holding an identifier in a source/account, whole."""
    row = await conn.fetchrow(
        _select(conn.dialect, True), org_id, now, key[0], key[1], id_type, value
    )
    return None if row is None else _customer(row)


async def identifier_exists(conn: Connection, org_id: OrgId, id_type: str, value: str) -> bool:
    """Whether any customer of the org holds the identifier, in any source."""
    row = await conn.fetchrow(
        "SELECT 1 FROM identifiers WHERE org_id = $1 AND type = $2 AND value = $3 LIMIT 1",
        org_id,
        id_type,
        value,
    )
    return row is not None


async def find_id(
    conn: Connection, org_id: OrgId, key: ProfileKey, id_type: str, value: str
) -> int | None:
    """The id of the customer holding an identifier in a source/account."""
    found = await conn.fetchval(
        "SELECT customer_id FROM identifiers"
        " WHERE org_id = $1 AND source = $2 AND account_id = $3 AND type = $4 AND value = $5",
        org_id,
        key[0],
        key[1],
        id_type,
        value,
    )
    return None if found is None else int(found)


async def holds_identifiers(conn: Connection, org_id: OrgId) -> bool:
    """Whether any customer of the org holds an identifier."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM identifier_owners WHERE org_id = $1)", org_id
        )
    )


async def holders(
    conn: Connection, org_id: OrgId, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], list[Holder]]:
    """Who holds each (type, value), in every source of the org."""
    if not pairs:
        return {}
    if conn.dialect == "postgresql":
        # One index probe per pair, whatever the statistics say: a plain join let the planner
        # sort every identifier of the org when its row estimates were stale (seconds, not ms).
        sql = (
            "SELECT r.type, r.value, i.source, i.account_id, i.customer_id"
            " FROM unnest($2::text[], $3::text[]) AS r(type, value)"
            " JOIN LATERAL (SELECT i.source, i.account_id, i.customer_id FROM identifiers i"
            " WHERE i.org_id = $1 AND i.type = r.type AND i.value = r.value OFFSET 0) i ON true"
        )
        rows = await conn.fetch(sql, org_id, [t for t, _ in pairs], [v for _, v in pairs])
    else:
        sql = (
            "SELECT i.type, i.value, i.source, i.account_id, i.customer_id FROM identifiers i"
            " WHERE i.org_id = $1 AND (i.type, i.value) IN"
            " (SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]') FROM json_each($2) j)"
        )
        rows = await conn.fetch(sql, org_id, orjson.dumps(pairs).decode())
    found: dict[tuple[str, str], list[Holder]] = defaultdict(list)
    for r in rows:
        found[(r["type"], r["value"])].append(
            Holder(r["source"], r["account_id"], int(r["customer_id"]))
        )
    return dict(found)


async def customer_exists(conn: Connection, org_id: OrgId, customer_id: int) -> bool:
    """Whether the org has a customer with this id."""
    return (
        await conn.fetchval(
            "SELECT 1 FROM customers WHERE org_id = $1 AND id = $2", org_id, customer_id
        )
        is not None
    )


async def history(
    conn: Connection, org_id: OrgId, customer_id: int, *, limit: int, before_version: int | None
) -> list[Row]:
    """Up to `limit` history entries, newest first, older than `before_version` when given."""
    if before_version is None:
        return await conn.fetch(
            "SELECT version, at, request_id, actor_code, actor_type, changes, context FROM customer_history"
            " WHERE org_id = $1 AND customer_id = $2 ORDER BY version DESC LIMIT $3",
            org_id,
            customer_id,
            limit,
        )
    return await conn.fetch(
        "SELECT version, at, request_id, actor_code, actor_type, changes, context FROM customer_history"
        " WHERE org_id = $1 AND customer_id = $2 AND version < $3 ORDER BY version DESC LIMIT $4",
        org_id,
        customer_id,
        before_version,
        limit,
    )
