"""The bench's pgbench replay of patron's update, and its WAL counters, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest
from bench import pgbench, wal
from bench.load_pg import database_url, load

from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.skipif(
    PG_ADMIN_URL is None or shutil.which("pgbench") is None,
    reason="needs PostgreSQL and pgbench",
)

CUSTOMERS = 200
DATABASE = "patron_test_bench_replay"


async def _counts(url: str) -> tuple[int, int, int]:
    """Email channels stored, distinct addresses among them, history entries."""
    conn = await asyncpg.connect(url)
    try:
        emails, distinct = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT ch->>'value') FROM customers,"
            " jsonb_array_elements(profiles) p, jsonb_array_elements(p->'channels') ch"
            " WHERE ch->>'type' = 'email'"
        )
        history = await conn.fetchval("SELECT count(*) FROM customer_history")
        return int(emails), int(distinct), int(history)
    finally:
        await conn.close()


async def _drop(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    finally:
        await conn.close()


def test_replayed_update_changes_each_customers_own_channel(tmp_path: Path) -> None:
    assert PG_ADMIN_URL is not None
    load(PG_ADMIN_URL, DATABASE, CUSTOMERS)
    url = database_url(PG_ADMIN_URL, DATABASE)
    try:
        script = pgbench.script(asyncio.run(pgbench.capture(url, CUSTOMERS)), CUSTOMERS, tmp_path)
        # The captured profiles name the captured customer's address; replayed on others they
        # must name theirs, or every replayed customer would store another's email channel.
        assert "replace(:" in script.text
        emails, distinct, history = asyncio.run(_counts(url))
        assert emails == distinct == CUSTOMERS
        before = wal.snapshot(url)
        result = pgbench.run_pgbench(url, script, clients=2, threads=1, seconds=1, tag="test")
        logged = wal.delta(before, wal.snapshot(url), result.transactions)
        assert result.transactions > 0 and result.failed == 0
        after_emails, after_distinct, after_history = asyncio.run(_counts(url))
        assert after_emails == after_distinct == CUSTOMERS
        # A replayed update whose customer another client changed between its read and its
        # write stores nothing (patron would run it again): rare with 200 customers and 2 clients.
        stored = after_history - history
        assert 0.9 * result.transactions <= stored <= result.transactions
        # Each update logs its rows: the customer's, its history entry and its event at least.
        assert logged["wal_records_per_request"] >= 5
        assert logged["wal_kib_per_request"] > 0.5
    finally:
        asyncio.run(_drop(PG_ADMIN_URL))


def test_wal_delta_is_per_request() -> None:
    before = {"wal_records": 100.0, "wal_fpi": 2.0, "wal_bytes": 10240.0, "checkpoints": 7.0}
    after = {
        "wal_records": 1100.0,
        "wal_fpi": 52.0,
        "wal_bytes": 10240.0 + 2048 * 100,
        "checkpoints": 8.0,
    }
    assert wal.delta(before, after, 100) == {
        "wal_kib_per_request": 2.0,
        "wal_records_per_request": 10.0,
        "fpi_per_request": 0.5,
        "checkpoints": 1,
    }
