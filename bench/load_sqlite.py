"""Load an SQLite database file with N benchmark customers, fast, as patron would have stored them.

The file is deleted and created with `patron migrate`, given the benchmark orgs with `patron org
apply`, then filled in one transaction with `executemany` (synchronous=OFF while loading; WAL,
as patron runs it). Values are adapted by the adapters patron's driver registers with `sqlite3`
(JSON as orjson text, timestamps as ISO 8601 in UTC), so they are stored exactly as patron
stores them. Foreign keys stay on: a row without its parent fails the load.

    python -m bench.load_sqlite --path bench/results/tmp/patron_bench.db --customers 200000
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import patron.db.driver  # noqa: F401  (registers patron's sqlite3 adapters for JSON and datetimes)
from bench import dataset, stored
from bench.common import TMP, BenchError, log
from bench.load_pg import LoadReport
from bench.orgs import apply_orgs, migrate

BATCH = 20_000

sqlite3.register_adapter(stored.Json, str)


def _check_columns(conn: sqlite3.Connection) -> None:
    for table, columns in stored.COLUMNS.items():
        actual = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if actual != set(columns):
            raise BenchError(
                f"table {table} has columns {sorted(actual)}, the loader fills {sorted(columns)}:"
                " update bench/stored.py to the new schema"
            )


def _insert_sql(table: str) -> str:
    columns = stored.COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def load_customers(path: Path, customers: int) -> LoadReport:
    """Insert customers 1..N into a migrated SQLite file that has the benchmark orgs."""
    now = datetime.now(UTC)
    report = LoadReport(
        database=f"sqlite:///{path}", customers=customers, loaded_at=now.isoformat()
    )
    counts = dict.fromkeys(stored.CUSTOMER_TABLES, 0)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MB for this connection only
        _check_columns(conn)
        if conn.execute("SELECT count(*) FROM customers").fetchone()[0]:
            raise BenchError(f"{path} already holds customers: load into a new file")
        t0 = time.monotonic()
        gc.disable()
        conn.execute("BEGIN")
        try:
            for first in range(1, customers + 1, BATCH):
                batch = stored.Batch()
                for n in range(first, min(first + BATCH, customers + 1)):
                    stored.append_customer(batch, n, n, now)
                for table in stored.CUSTOMER_TABLES:
                    conn.executemany(_insert_sql(table), batch.rows[table])
                    counts[table] += len(batch.rows[table])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            gc.enable()
        t1 = time.monotonic()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        t2 = time.monotonic()
    finally:
        conn.close()
    total = sum(counts.values())
    report.rows = counts
    report.seconds = {"insert": round(t1 - t0, 2), "checkpoint": round(t2 - t1, 2)}
    report.seconds["total"] = round(t2 - t0, 2)
    report.rows_per_second = round(total / max(t2 - t0, 1e-9))
    report.copy_rows_per_second = round(total / max(t1 - t0, 1e-9))
    report.size_mb = round(path.stat().st_size / 2**20, 1)
    return report


def load(path: Path, customers: int) -> LoadReport:
    """Create the SQLite file afresh, migrate it, apply the orgs and load N customers."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"
    log(f"SQLite {path.name}: migrating, applying {dataset.ORG_COUNT} orgs")
    t0 = time.monotonic()
    migrate(url)
    apply_orgs(url)
    setup = time.monotonic() - t0
    log(f"SQLite {path.name}: loading {customers:,} customers")
    report = load_customers(path, customers)
    report.seconds["setup"] = round(setup, 2)
    log(
        f"SQLite {path.name}: {sum(report.rows.values()):,} rows in {report.seconds['total']:.1f} s"
        f" ({report.rows_per_second:,.0f} rows/s), {report.size_mb:,.0f} MB"
    )
    return report


def main() -> None:
    """Command line: load one SQLite file and print the report as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", type=Path, default=TMP / "patron_bench.db")
    parser.add_argument("--customers", type=int, default=200_000)
    args = parser.parse_args()
    try:
        report = load(args.path.resolve(), args.customers)
    except BenchError as exc:
        raise SystemExit(f"bench.load_sqlite: {exc}") from None
    print(json.dumps(report.as_dict(), indent=2))


if __name__ == "__main__":
    main()
