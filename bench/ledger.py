"""Points balance of a long-standing member: `GET loyaltyDetails` for a customer with 5,000 credits.

A fresh PostgreSQL database (default `patron_ledger_bench`) is migrated and given the first
benchmark org; customers are registered through patron's API in this process, then the points
ledger is filled directly: 5,000 credits for the measured customer (half of them already
expired) and a few for each of the others, so the balance query has to pick one customer's
rows out of many. After VACUUM ANALYZE, `GET /v2/customers/{id}/loyaltyDetails` is timed
through the ASGI interface (no HTTP server: the figure is patron's Python plus the database),
its answer is checked against the sums of the rows written, and the plan of the balance query
is recorded (EXPLAIN ANALYZE), which must use `ix_points_ledger_balance`.

    python -m bench.ledger                    # alone, on the local PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson

from bench import dataset
from bench.common import BenchError, log
from bench.importing import apply_org
from bench.load_pg import DEFAULT_ADMIN_URL, database_url, recreate_database
from bench.orgs import migrate
from patron.app import create_app
from patron.config import Settings
from patron.customers.points_repository import SUMS

DATABASE = "patron_ledger_bench"
LEDGER_ROWS = 5_000
OTHER_CUSTOMERS = 200
OTHER_ROWS = 25
REQUESTS = 500
WARMUP = 50
INDEX = "ix_points_ledger_balance"


@dataclass
class LedgerReport:
    """One timed series of loyaltyDetails requests for the 5,000-credit customer."""

    database: str
    ledger_rows: int
    ledger_rows_in_table: int
    requests: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    query_execution_ms: float
    uses_index: bool
    plan: str
    summary: str

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON data."""
        return asdict(self)


def _credits(rows: int, now: datetime) -> list[tuple[int, datetime]]:
    """(points, expiry) of `rows` credits: the first half expired, the rest expiring later."""
    return [(i % 50 + 1, now + timedelta(hours=i - rows // 2)) for i in range(rows)]


async def _register(client: httpx.AsyncClient, auth: dict[str, str], n: int) -> int:
    body = {
        "profiles": [
            {"source": "INSTORE", "identifiers": [{"type": "mobile", "value": f"+9188800{n:05d}"}]}
        ],
        "loyaltyProgramEnrollments": [{"programId": dataset.PROGRAM_ID}],
    }
    response = await client.post("/v2/customers", json=body, headers=auth)
    if response.status_code != 200:
        raise BenchError(f"registering ledger customer {n}: {response.status_code} {response.text}")
    return int(response.json()["createdId"])


async def _fill(url: str, org: str, measured: int, others: list[int], now: datetime) -> int:
    """Write the ledger rows; VACUUM ANALYZE; the table's row count."""
    conn = await asyncpg.connect(url)
    try:
        rows = []
        for cid, credits in [(measured, _credits(LEDGER_ROWS, now))] + [
            (o, _credits(OTHER_ROWS, now)) for o in others
        ]:
            rows += [
                (org, cid, 1_000_000 + i, dataset.PROGRAM_ID, pts, exp, now, "bench-ledger")
                for i, (pts, exp) in enumerate(credits)
            ]
        await conn.copy_records_to_table(
            "points_ledger",
            records=rows,
            columns=[
                "org_id",
                "customer_id",
                "version",
                "program_id",
                "points",
                "expires_at",
                "credited_at",
                "request_id",
            ],
        )
        await conn.execute("VACUUM ANALYZE points_ledger")
        return int(await conn.fetchval("SELECT COUNT(*) FROM points_ledger"))
    finally:
        await conn.close()


async def _plan(url: str, org: str, customer_id: int) -> tuple[str, float]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "EXPLAIN (ANALYZE, BUFFERS) " + SUMS, org, customer_id, datetime.now(UTC)
        )
    finally:
        await conn.close()
    lines = [str(r[0]) for r in rows]
    execution = next((ln for ln in lines if ln.startswith("Execution Time")), "0 ms")
    return "\n".join(lines), float(execution.split(":")[-1].strip().split(" ")[0])


async def _run(url: str, org: str, requests: int) -> LedgerReport:
    settings = Settings(
        database_url=url, secret_key=secrets.token_hex(32), admin_token=secrets.token_hex(24)
    )
    app = create_app(settings)
    auth = {"Authorization": dataset.basic_auth(org)}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://patron") as client:
            log(f"ledger: registering {OTHER_CUSTOMERS + 1} customers through the API")
            measured = await _register(client, auth, 0)
            others = [await _register(client, auth, n) for n in range(1, OTHER_CUSTOMERS + 1)]
            now = datetime.now(UTC)
            in_table = await _fill(url, org, measured, others, now)
            log(f"ledger: {LEDGER_ROWS:,} credits for customer {measured}, {in_table:,} in all")
            expected = _credits(LEDGER_ROWS, now)
            lifetime = sum(p for p, _ in expected)
            path = f"/v2/customers/{measured}/loyaltyDetails"
            timings = []
            for i in range(WARMUP + requests):
                started = time.perf_counter()
                response = await client.get(path, headers=auth)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise BenchError(f"loyaltyDetails: {response.status_code} {response.text}")
                if i >= WARMUP:
                    timings.append(elapsed)
            (entry,) = response.json()["data"]
            expired = sum(p for p, e in expected if e <= datetime.now(UTC))
            if entry["lifetimePoints"] != lifetime or entry["expired"] < expired:
                raise BenchError(f"loyaltyDetails answered {entry}, the ledger holds {lifetime}")
    plan, execution_ms = await _plan(url, org, measured)
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[min(len(timings) - 1, round(0.99 * len(timings)) - 1)]
    report = LedgerReport(
        database=DATABASE,
        ledger_rows=LEDGER_ROWS,
        ledger_rows_in_table=in_table,
        requests=requests,
        p50_ms=round(p50, 2),
        p99_ms=round(p99, 2),
        mean_ms=round(statistics.fmean(timings), 2),
        query_execution_ms=execution_ms,
        uses_index=INDEX in plan,
        plan=plan,
        summary=f"loyaltyDetails of a {LEDGER_ROWS:,}-credit customer: p50 {p50:.2f} ms,"
        f" p99 {p99:.2f} ms in process; the balance query {execution_ms:.2f} ms"
        f" ({'index ' + INDEX if INDEX in plan else 'NOT using ' + INDEX})",
    )
    if not report.uses_index:
        raise BenchError(f"the balance query does not use {INDEX}:\n{plan}")
    return report


def bench_ledger(
    admin_url: str = DEFAULT_ADMIN_URL, requests: int = REQUESTS, database: str = DATABASE
) -> LedgerReport:
    """Build the database, fill the ledger, time loyaltyDetails, record the plan."""
    url = database_url(admin_url, database)
    log(f"ledger: recreating {database}")
    asyncio.run(recreate_database(admin_url, database))
    migrate(url)
    org = apply_org(url)
    report = asyncio.run(_run(url, org, requests))
    log(f"ledger: {report.summary}")
    return report


def main() -> None:
    """Command line: run the ledger benchmark alone."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--database", default=DATABASE)
    args = parser.parse_args()
    admin = os.environ.get("BENCH_PG_ADMIN_URL", DEFAULT_ADMIN_URL)
    try:
        report = bench_ledger(admin, args.requests, args.database)
    except BenchError as exc:
        log(f"FAILED: {exc}")
        raise SystemExit(1) from None
    print(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
