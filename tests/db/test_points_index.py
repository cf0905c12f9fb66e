"""The balance queries of SPEC 10.3 are answered from the ledger's covering index, on both
databases, when the ledger holds many customers' credits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
from starlette.testclient import TestClient

from patron.customers.points_repository import CREDITS, SUMS
from patron.db.driver import Connection, parse_database_url
from tests.builders import profile, register
from tests.conftest import run
from tests.customers.ledger import credit

INDEX = "ix_points_ledger_balance"


def _fill(client: TestClient, customers: int, credits: int) -> int:
    """`customers` enrolled customers with `credits` credits each; returns one of their ids."""
    now = datetime.now(UTC)
    ids = []
    for n in range(customers):
        cid = register(
            client,
            profile(mobile=f"9199990{n:05d}"),
            loyaltyProgramEnrollments=[{"programId": 1016}],
        )
        amounts = [(i % 50 + 1, now + timedelta(days=i - credits // 2)) for i in range(credits)]
        credit(client, cid, 1016, amounts)
        ids.append(cid)
    return ids[customers // 2]


def _plans(client: TestClient, backend: str, database_url: str, customer_id: int) -> list[str]:
    now = datetime.now(UTC)
    if backend == "postgresql":
        url = parse_database_url(database_url)

        async def vacuum() -> None:
            # Autocommit, outside any transaction: the visibility map lets the scan skip the heap.
            conn = await asyncpg.connect(url.driver_dsn)
            try:
                await conn.execute("VACUUM ANALYZE points_ledger")
            finally:
                await conn.close()

        asyncio.run(vacuum())
        explain = "EXPLAIN "
    else:

        async def analyze(conn: Connection) -> None:
            await conn.execute("ANALYZE points_ledger")

        run(client, analyze, write=True)
        explain = "EXPLAIN QUERY PLAN "

    async def plans(conn: Connection) -> list[str]:
        out = []
        for sql in (SUMS, CREDITS):
            rows = await conn.fetch(explain + sql, "acme", customer_id, now)
            out.append("\n".join(str(r[len(list(r.keys())) - 1]) for r in rows))
        return out

    return run(client, plans)


def test_points_balance_queries_use_the_covering_index(
    client: TestClient, backend: str, database_url: str
) -> None:
    customer_id = _fill(client, customers=30, credits=200)
    for plan in _plans(client, backend, database_url, customer_id):
        assert INDEX in plan, plan
        if backend == "postgresql":
            assert "Index Only Scan" in plan, plan
        else:
            assert "COVERING INDEX" in plan, plan
