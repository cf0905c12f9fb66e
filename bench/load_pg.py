"""Load a PostgreSQL database with N benchmark customers, fast, as patron would have stored them.

The database is dropped and created, migrated with `patron migrate`, and given the benchmark
orgs with `patron org apply`. The customer tables' keys, indexes and foreign keys are dropped
(their definitions read from the catalogue first), the rows are streamed in with COPY
(`copy_records_to_table`, binary), the constraints are rebuilt from the saved definitions (and
checked to be identical), `customer_id_seq` is moved past the last id, and the database is
vacuumed and analysed, so it looks like one patron has been writing to for a while.

    python -m bench.load_pg --database patron_bench --customers 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from bench import dataset, stored
from bench.common import BenchError, log
from bench.orgs import apply_orgs, migrate

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 25_000
"""Customers per COPY batch (about 220,000 rows)."""
STREAMS = 2
"""Concurrent COPY connections (the machine has two cores)."""


@dataclass
class LoadReport:
    """How a load went: rows per table, seconds per phase, throughput."""

    database: str
    customers: int
    loaded_at: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    rows_per_second: float = 0.0
    """All customer rows over the whole load (COPY, rebuilding constraints, vacuum)."""
    copy_rows_per_second: float = 0.0
    """All customer rows over the COPY phase alone."""
    size_mb: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON data."""
        return asdict(self)


def database_url(admin_url: str, name: str) -> str:
    """The URL of database `name` on the server `admin_url` points at."""
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


async def _connect(url: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise BenchError(f"cannot connect to PostgreSQL at {url}: {exc}") from None


async def recreate_database(admin_url: str, name: str) -> None:
    """Drop database `name` (closing its sessions) and create it empty."""
    conn = await _connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def _jsonb(value: Any) -> bytes:
    text = value.encode() if isinstance(value, stored.Json) else orjson.dumps(value)
    return b"\x01" + text


async def _binary_json(conn: asyncpg.Connection) -> None:
    # COPY is binary: jsonb is a version byte and the text; json is the text. Same orjson
    # encoding as patron's own codec (patron.db.driver).
    await conn.set_type_codec(
        "jsonb",
        encoder=_jsonb,
        decoder=lambda b: orjson.loads(b[1:]),
        schema="pg_catalog",
        format="binary",
    )
    await conn.set_type_codec(
        "json",
        encoder=orjson.dumps,
        decoder=orjson.loads,
        schema="pg_catalog",
        format="binary",
    )


_CONSTRAINTS = """
SELECT c.contype::text AS contype,
       format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop_sql,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
              pg_get_constraintdef(c.oid)) AS create_sql
FROM pg_constraint c
WHERE c.contype IN ('p', 'u', 'f')
  AND (c.conrelid = ANY($1::regclass[]) OR (c.contype = 'f' AND c.confrelid = ANY($1::regclass[])))
ORDER BY 3
"""
_INDEXES = """
SELECT format('DROP INDEX %s', i.indexrelid::regclass) AS drop_sql,
       pg_get_indexdef(i.indexrelid) AS create_sql
FROM pg_index i
WHERE i.indrelid = ANY($1::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                  WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY 2
"""


@dataclass
class _Definitions:
    keys: list[tuple[str, str]]
    foreign_keys: list[tuple[str, str]]
    indexes: list[tuple[str, str]]

    def all(self) -> list[str]:
        return sorted(c for _, c in self.keys + self.foreign_keys + self.indexes)


async def _definitions(conn: asyncpg.Connection) -> _Definitions:
    tables = list(stored.CUSTOMER_TABLES)
    constraints = await conn.fetch(_CONSTRAINTS, tables)
    indexes = await conn.fetch(_INDEXES, tables)
    return _Definitions(
        keys=[(r["drop_sql"], r["create_sql"]) for r in constraints if r["contype"] != "f"],
        foreign_keys=[(r["drop_sql"], r["create_sql"]) for r in constraints if r["contype"] == "f"],
        indexes=[(r["drop_sql"], r["create_sql"]) for r in indexes],
    )


async def _check_columns(conn: asyncpg.Connection) -> None:
    """Fail when a customer table has a column the loader does not fill (the schema moved on)."""
    for table, columns in stored.COLUMNS.items():
        rows = await conn.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = $1",
            table,
        )
        actual = {r["column_name"] for r in rows}
        if actual != set(columns):
            raise BenchError(
                f"table {table} has columns {sorted(actual)}, the loader fills {sorted(columns)}:"
                " update bench/stored.py to the new schema"
            )


async def copy_customers(url: str, customers: int, now: datetime) -> dict[str, int]:
    """COPY customers 1..N into the customer tables over STREAMS connections; rows per table.

    Each stream takes the next batch of customers, builds its rows and copies them table by
    table, so PostgreSQL parses one stream's data while Python builds the other's.
    """
    counts = dict.fromkeys(stored.CUSTOMER_TABLES, 0)
    starts = iter(range(1, customers + 1, BATCH))
    progress = {"done": 0, "next": max(customers // 10, BATCH)}

    async def stream() -> None:
        conn = await _connect(url)
        try:
            await _binary_json(conn)
            await conn.execute("SET synchronous_commit = off")
            for first in starts:
                batch = stored.Batch()
                for n in range(first, min(first + BATCH, customers + 1)):
                    stored.append_customer(batch, n, n, now)
                for table in stored.CUSTOMER_TABLES:
                    rows = batch.rows[table]
                    if rows:
                        await conn.copy_records_to_table(
                            table, records=rows, columns=list(stored.COLUMNS[table])
                        )
                        counts[table] += len(rows)
                progress["done"] += len(batch.rows["customers"])
                if progress["done"] >= progress["next"] or progress["done"] == customers:
                    log(f"  copied {progress['done']:,} / {customers:,} customers")
                    progress["next"] += max(customers // 10, BATCH)
        finally:
            await conn.close()

    # Millions of small dicts and tuples, none in a cycle: the cyclic GC only slows this down.
    gc.disable()
    try:
        await asyncio.gather(*(stream() for _ in range(STREAMS)))
    finally:
        gc.enable()
    return counts


async def _timed(conn: asyncpg.Connection, sql: str) -> None:
    t0 = time.monotonic()
    await conn.execute(sql)
    if time.monotonic() - t0 > 0.5:
        log(f"  {time.monotonic() - t0:.1f} s: {sql}")


async def load_customers(url: str, customers: int) -> LoadReport:
    """Load customers 1..N into a migrated database that has the benchmark orgs."""
    now = datetime.now(UTC)
    report = LoadReport(database=url, customers=customers, loaded_at=now.isoformat())
    conn = await _connect(url)
    try:
        await _binary_json(conn)
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await _check_columns(conn)
        existing = await conn.fetchval("SELECT count(*) FROM customers")
        if existing:
            raise BenchError(f"{url} already holds {existing} customers: load into a new database")
        defs = await _definitions(conn)
        before = defs.all()

        t0 = time.monotonic()
        for drop_sql, _ in defs.foreign_keys + defs.keys + defs.indexes:
            await conn.execute(drop_sql)
        report.rows = await copy_customers(url, customers, now)
        t1 = time.monotonic()
        log("  rebuilding keys, indexes and foreign keys")
        for _, create_sql in defs.keys + defs.indexes:
            await _timed(conn, create_sql)
        # Validating a foreign key is a join; give the planner statistics for it first.
        await conn.execute("ANALYZE " + ", ".join(stored.CUSTOMER_TABLES))
        for _, create_sql in defs.foreign_keys:
            await _timed(conn, create_sql)
        after = (await _definitions(conn)).all()
        if after != before:
            raise BenchError(f"constraints differ after the rebuild:\n{before}\n{after}")
        await conn.execute("SELECT setval('customer_id_seq', $1)", customers)
        t2 = time.monotonic()
        log("  vacuum analyze")
        await conn.execute("VACUUM (ANALYZE)")
        t3 = time.monotonic()
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await conn.close()
    total_rows = sum(report.rows.values())
    report.seconds = {
        "copy": round(t1 - t0, 2),
        "constraints": round(t2 - t1, 2),
        "vacuum_analyze": round(t3 - t2, 2),
        "total": round(t3 - t0, 2),
    }
    report.rows_per_second = round(total_rows / max(t3 - t0, 1e-9))
    report.copy_rows_per_second = round(total_rows / max(t1 - t0, 1e-9))
    report.size_mb = round(size / 2**20, 1)
    return report


def load(admin_url: str, name: str, customers: int) -> LoadReport:
    """Create database `name` afresh, migrate it, apply the orgs and load N customers."""
    url = database_url(admin_url, name)
    log(f"PostgreSQL {name}: creating, migrating, applying {dataset.ORG_COUNT} orgs")
    t0 = time.monotonic()
    asyncio.run(recreate_database(admin_url, name))
    migrate(url)
    apply_orgs(url)
    setup = time.monotonic() - t0
    log(f"PostgreSQL {name}: loading {customers:,} customers")
    report = asyncio.run(load_customers(url, customers))
    report.seconds["setup"] = round(setup, 2)
    log(
        f"PostgreSQL {name}: {sum(report.rows.values()):,} rows in {report.seconds['total']:.1f} s"
        f" ({report.rows_per_second:,.0f} rows/s; COPY alone {report.copy_rows_per_second:,.0f}"
        f" rows/s), {report.size_mb:,.0f} MB"
    )
    return report


def main() -> None:
    """Command line: load one database and print the report as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="a database to connect to")
    parser.add_argument("--database", default="patron_bench", help="the database to (re)create")
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    try:
        report = load(args.admin_url, args.database, args.customers)
    except BenchError as exc:
        raise SystemExit(f"bench.load_pg: {exc}") from None
    print(json.dumps(report.as_dict(), indent=2))


if __name__ == "__main__":
    main()
