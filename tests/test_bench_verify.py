"""The bench loaders store customers exactly as patron would: `bench.verify` on a small load of
each database (loaded customers read back through the API, twins registered through it compared
row for row with the loader's)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from bench import load_pg, load_sqlite, stored
from bench.common import BenchError
from bench.verify import verify

from tests.conftest import PG_ADMIN_URL, _pg_admin

CUSTOMERS = 40
DATABASE = "patron_test_bench_verify"


def test_the_sqlite_loader_stores_what_patron_stores(tmp_path: Path) -> None:
    path = tmp_path / "bench.db"
    report = load_sqlite.load(path, CUSTOMERS)
    summary = asyncio.run(verify(f"sqlite:///{path}", CUSTOMERS, report.loaded_at))
    assert len(summary["twins_registered"]) >= 2


@pytest.mark.skipif(PG_ADMIN_URL is None, reason="needs PostgreSQL")
def test_the_postgresql_loader_stores_what_patron_stores() -> None:
    assert PG_ADMIN_URL is not None
    report = load_pg.load(PG_ADMIN_URL, DATABASE, CUSTOMERS)
    try:
        url = load_pg.database_url(PG_ADMIN_URL, DATABASE)
        summary = asyncio.run(verify(url, CUSTOMERS, report.loaded_at))
        assert len(summary["twins_registered"]) >= 2
    finally:
        asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))


def test_a_loader_row_patron_would_not_write_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = stored.append_customer

    def wrong(batch: stored.Batch, n: int, customer_id: int, now: datetime) -> None:
        # The loader stores each customer's mobile channel with the wrong `verified`.
        real(batch, n, customer_id, now)
        profiles = batch.rows["customers"][-1][-1]
        profiles[0]["channels"][0]["verified"] = not profiles[0]["channels"][0]["verified"]

    monkeypatch.setattr(stored, "append_customer", wrong)
    path = tmp_path / "bench.db"
    report = load_sqlite.load(path, CUSTOMERS)
    with pytest.raises(BenchError):
        asyncio.run(verify(f"sqlite:///{path}", CUSTOMERS, report.loaded_at))
