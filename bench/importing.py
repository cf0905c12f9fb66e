"""Bulk import speed: `patron import` of N generated registrations into a fresh PostgreSQL org.

The database (default `patron_import_bench`) is dropped, created, migrated with `patron migrate`
and given the first benchmark org with `patron org apply`; a JSON Lines file of
`bench.dataset.registration_body(n)` for n = 1..N is written, and `patron import` loads it as a
user would run it (a subprocess, default batch size). Customers per second = N / the command's
wall time (start-up, hashing and counting the file included). Beside it, the CPU seconds the
command's own process, its preparing processes and PostgreSQL's processes spent meanwhile
(`bench.proc_cpu`, Linux only): on two cores they say which of them sets the pace.

    python -m bench.importing --customers 50000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import dataset
from bench.common import TMP, BenchError, env_int, log, run, venv_bin
from bench.load_pg import DEFAULT_ADMIN_URL, database_url, recreate_database
from bench.orgs import migrate
from bench.proc_cpu import CpuSampler

TARGET_PER_SECOND = 20_000
DEFAULT_CUSTOMERS = 50_000  # BENCH_IMPORT_CUSTOMERS
DATABASE = "patron_import_bench"


@dataclass
class ImportReport:
    """One timed `patron import`."""

    database: str
    customers: int
    file_mb: float
    seconds: float
    customers_per_second: float
    target_per_second: int
    met: bool
    stored_customers: int
    summary: str
    cpu_seconds: dict[str, float]
    """CPU seconds during the command: its own process ("command"), its preparing processes
    ("children"), PostgreSQL's processes ("postgresql"); empty where /proc is missing."""

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON data."""
        return asdict(self)


def write_file(path: Path, customers: int) -> None:
    """The registrations of customers 1..N as JSON Lines (as clients would send them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        for n in range(1, customers + 1):
            f.write(orjson.dumps(dataset.registration_body(n)) + b"\n")


def apply_org(url: str) -> str:
    """Apply the first benchmark org to the database at `url`; its code."""
    doc = dataset.org_document(0)
    TMP.mkdir(parents=True, exist_ok=True)
    path = TMP / f"org-import-{doc['orgCode']}.json"
    path.write_text(orjson.dumps(doc).decode(), encoding="utf-8")
    run([venv_bin("patron"), "org", "apply", path, "--database-url", url], what="patron org apply")
    return str(doc["orgCode"])


async def _stored(url: str, org: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT COUNT(*) FROM customers WHERE org_id = $1", org))
    finally:
        await conn.close()


def bench_import(
    admin_url: str = DEFAULT_ADMIN_URL, customers: int = DEFAULT_CUSTOMERS, database: str = DATABASE
) -> ImportReport:
    """Build the database and the file, run `patron import`, check what it stored."""
    url = database_url(admin_url, database)
    log(f"import: recreating {database}")
    asyncio.run(recreate_database(admin_url, database))
    migrate(url)
    org = apply_org(url)
    file = TMP / f"import-{customers}.jsonl"
    log(f"import: writing {customers:,} registrations to {file.name}")
    write_file(file, customers)
    file.with_name(file.name + ".rejects.jsonl").unlink(missing_ok=True)
    log("import: patron import")
    cpu = CpuSampler()
    cpu.baseline()
    started = time.monotonic()
    try:
        out = run(
            [venv_bin("patron"), "import", file, "--org", org, "--database-url", url],
            what="patron import",
            env={"COLUMNS": "200"},
            timeout=3600,
            started=cpu.start,
        )
    finally:
        cpu.stop()
    seconds = time.monotonic() - started
    del out  # the summary goes to stderr, which `run` keeps only on failure
    stored = asyncio.run(_stored(url, org))
    if stored != customers:
        raise BenchError(f"patron import stored {stored:,} customers of {customers:,}")
    rate = customers / seconds
    report = ImportReport(
        database=database,
        customers=customers,
        file_mb=round(file.stat().st_size / 2**20, 1),
        seconds=round(seconds, 2),
        customers_per_second=round(rate, 1),
        target_per_second=TARGET_PER_SECOND,
        met=rate >= TARGET_PER_SECOND,
        stored_customers=stored,
        summary=f"{customers:,} customers in {seconds:.1f} s",
        cpu_seconds=cpu.seconds(),
    )
    log(f"import: {report.summary}: {rate:,.0f} customers/s; CPU seconds {report.cpu_seconds}")
    return report


def main() -> None:
    """Command line: run the import benchmark alone."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--customers", type=int, default=env_int("BENCH_IMPORT_CUSTOMERS", DEFAULT_CUSTOMERS)
    )
    parser.add_argument("--database", default=DATABASE)
    args = parser.parse_args()
    admin = os.environ.get("BENCH_PG_ADMIN_URL", DEFAULT_ADMIN_URL)
    try:
        report = bench_import(admin, args.customers, args.database)
    except BenchError as exc:
        log(f"FAILED: {exc}")
        raise SystemExit(1) from None
    print(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
