"""Faults (SQLite): a write lock held past the busy timeout, an unusable file, a full disk.

Every request answers 200 or 503 with code 8114 and a Retry-After, never a 500, and no request
leaves a partial write.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from patron.app import create_app
from patron.db.driver import (
    Connection,
)
from patron.db.migrate import upgrade
from tests.conftest import ACME, ACME_AUTH, ADMIN, make_settings, run
from tests.integrity.faults import (
    SLACK,
    WRITERS,
    Org,
    answers_200,
    assert_unavailable,
    history_length,
    lookup,
    update_field,
    warm_up,
)
from tests.live import httpx, live_server, wait_until

# --- (c) SQLite: a write lock held past the busy timeout, an unusable file, a full disk -----


@pytest.mark.parametrize("writers", [1, WRITERS])
def test_sqlite_write_lock_past_busy_timeout_is_503_then_200(
    sqlite_url: str, client: TestClient, org: Org, writers: int
) -> None:
    mobile, cid = next(iter(org.seeds.items()))
    before = history_length(client, org, cid)
    with (
        live_server(sqlite_url, sqlite_busy_timeout_ms=1000) as base,
        httpx.Client(base_url=base, headers=org.auth, timeout=10) as http,
    ):
        warm_up(http, cid)
        other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            start = time.monotonic()
            writes, (read, read_elapsed) = asyncio.run(_contend(base, org, mobile, cid, writers))
            elapsed = time.monotonic() - start
        finally:
            other.execute("ROLLBACK")
            other.close()
        for response in writes:
            assert_unavailable(response)
        # Queued writers share one bound; they do not wait a busy timeout each in turn.
        assert 1.0 <= elapsed < 1.0 + SLACK, elapsed
        # A read while they wait is served at once: WAL lets it through, and waiting writers
        # do not hold the process's connection (else it would wait until they give up).
        assert read.status_code == 200, read.text
        assert read_elapsed < 0.5, read_elapsed
        assert update_field(http, org, "released").status_code == 200
    assert history_length(client, org, cid) == before + 1  # the 503s stored nothing


async def _contend(
    base: str, org: Org, mobile: str, customer_id: int, writers: int
) -> tuple[list[httpx.Response], tuple[httpx.Response, float]]:
    """`writers` concurrent updates of one customer, and a read once they are all waiting."""
    limits = httpx.Limits(max_connections=writers + 1)
    async with httpx.AsyncClient(
        base_url=base, headers=org.auth, timeout=10, limits=limits
    ) as http:

        async def read_meanwhile() -> tuple[httpx.Response, float]:
            await asyncio.sleep(0.2)
            start = time.monotonic()
            response = await http.get(f"/v2/customers/{customer_id}")
            return response, time.monotonic() - start

        read = asyncio.create_task(read_meanwhile())
        writes = await asyncio.gather(
            *(
                http.put(
                    "/v2/customers/lookup",
                    params=lookup(mobile),
                    json={"extendedFields": {f"f{i}": "x"}},
                )
                for i in range(writers)
            )
        )
        return list(writes), await read


def test_sqlite_file_unusable_at_start_then_restored(
    sqlite_url: str, org: Org, tmp_path: Path
) -> None:
    broken = tmp_path / "patron.db"
    broken.write_bytes(b"this is not an SQLite database" * 200)
    url = f"sqlite:///{broken}"
    with (
        live_server(url) as base,
        httpx.Client(base_url=base, headers=org.auth, timeout=10) as http,
    ):
        assert_unavailable(update_field(http, org, "unusable"))  # started, and says why not
        # The file comes back (restored from a backup of the session's database).
        source = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
        target = sqlite3.connect(broken.with_suffix(".restored"))
        with source, target:
            source.backup(target)
        source.close()
        target.close()
        shutil.move(broken.with_suffix(".restored"), broken)
        wait_until(lambda: answers_200(http, org, "restored"), timeout=5)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[TestClient]:
    """An app on a fresh, compacted SQLite file, with the ACME org."""
    url = f"sqlite:///{tmp_path / 'full.db'}"
    upgrade(url)
    with TestClient(create_app(make_settings(url)), raise_server_exceptions=False) as app:
        assert app.put("/admin/orgs/acme", json=ACME, headers=ADMIN).status_code == 200
        yield app


def _big_registration(tag: str) -> dict[str, Any]:
    """A registration whose rows cannot fit in the pages a compacted file already has."""
    return {
        "profiles": [
            {
                "source": "INSTORE",
                "identifiers": [
                    {"type": "externalId", "value": f"{tag}-{k:03d}-{'x' * 100}"} for k in range(50)
                ],
                "commChannels": [
                    {"type": "email", "value": f"{tag}{k}@example.com", "meta": {"note": "y" * 200}}
                    for k in range(50)
                ],
            }
        ],
        "loyaltyProgramEnrollments": [{"programId": 1016, "loyaltyPoints": 10}],
    }


def test_sqlite_disk_full_mid_transaction_is_503_and_rolls_back(
    sqlite_url: str, small_disk: TestClient
) -> None:
    app = small_disk

    async def cap(conn: Connection) -> None:
        # The file may not grow past its current size: the next page it needs is "disk full".
        await conn.execute("PRAGMA max_page_count = 1")

    async def uncap(conn: Connection) -> None:
        await conn.execute("PRAGMA max_page_count = 1073741823")

    async def counts(conn: Connection) -> dict[str, int]:
        return {
            t: int(await conn.fetchval(f"SELECT COUNT(*) FROM {t}"))
            for t in (
                "customers",
                "identifiers",
                "points_ledger",
                "customer_history",
            )
        }

    run(app, cap)
    before = run(app, counts)
    response = app.post("/v2/customers", json=_big_registration("full"), headers=ACME_AUTH)
    assert_unavailable(response)
    assert run(app, counts) == before  # nothing of it was stored
    run(app, uncap)
    response = app.post("/v2/customers", json=_big_registration("roomy"), headers=ACME_AUTH)
    assert response.status_code == 200, response.text
