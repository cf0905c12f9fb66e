"""`patron serve --workers 2` as operators run it: metrics summed over workers, fresh config.

The server is a real subprocess on a free port, on a database of its own (an SQLite file in a
temporary directory, and a PostgreSQL database created for the test when PostgreSQL is there).
Requests carry an X-Request-Id, and the JSON request lines the workers write name their pid, so
the test knows which worker answered what.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
import httpx2 as httpx
import orjson
import pytest

from patron.observability.workers import ENV, multiprocess_directory
from tests.conftest import ADMIN, ADMIN_TOKEN, PASSWORD, PG_ADMIN_URL, SECRET_KEY, basic
from tests.live import free_port, wait_until
from tests.observability.support import parse, value

WORKERS = 2
CACHE_SECONDS = 1.0
POOL_SIZE = 3
PATRON = str(Path(sys.executable).with_name("patron"))
ORG = "workers"
AUTH = basic("workers.till")
LOOKUP = {"source": "ECOMMERCE", "identifierName": "mobile", "identifierValue": "919999000001"}


def org_doc(*sources: str) -> dict[str, Any]:
    return {
        "name": "Workers Test",
        "defaultCountry": "IN",
        "sources": [{"source": s} for s in sources],
        "tills": [{"code": "workers.till", "password": PASSWORD}],
    }


@dataclass
class Served:
    """A running `patron serve` and where its request lines go."""

    base: str
    log: Path
    backend: str

    def pids_of(self, request_ids: set[str]) -> dict[str, int]:
        """The worker pid that logged each of `request_ids` (lines written so far)."""
        found: dict[str, int] = {}
        for raw in self.log.read_bytes().splitlines():
            if raw.startswith(b"{"):
                line = orjson.loads(raw)
                if line.get("request_id") in request_ids:
                    found[line["request_id"]] = line["pid"]
        return found


async def _pg(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite"] + (["postgresql"] if PG_ADMIN_URL else []))
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database for the server alone (migrated by `patron serve` itself)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'workers.db'}"
        return
    assert PG_ADMIN_URL
    name = f"patron_workers_test_{os.getpid()}"
    asyncio.run(_pg(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_pg(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    yield urlparse(PG_ADMIN_URL)._replace(path=f"/{name}").geturl()
    asyncio.run(_pg(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def served(database: str, tmp_path: Path) -> Iterator[Served]:
    """`patron serve --workers 2` on a free port; always stopped, workers included."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATRON_") and k != ENV} | {
        "PATRON_DATABASE_URL": database,
        "PATRON_SECRET_KEY": SECRET_KEY,
        "PATRON_ADMIN_TOKEN": ADMIN_TOKEN,
        "PATRON_CONFIG_CACHE_SECONDS": str(CACHE_SECONDS),
        "PATRON_POOL_SIZE": str(POOL_SIZE),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        # A session of its own, so the workers can be killed with it if shutdown hangs.
        proc = subprocess.Popen(
            [PATRON, "serve", "--workers", str(WORKERS), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is not None or _ready(base), timeout=25)
        assert proc.poll() is None, log.read_text()
        yield Served(base, log, "sqlite" if database.startswith("sqlite") else "postgresql")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # The workers (and multiprocessing's helper) end with the supervisor: nobody is left
        # in its session; whatever would be is killed rather than left behind.
        try:
            wait_until(lambda: not _group_alive(proc.pid), timeout=5)
        finally:
            if _group_alive(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _get(base: str, path: str, **kwargs: Any) -> httpx.Response:
    # A new connection per request: the kernel hands connections to either worker.
    return httpx.get(f"{base}{path}", timeout=10, **kwargs)


def _lookups(served: Served, count: int) -> dict[str, int]:
    """`count` lookups of LOOKUP over fresh connections; each request id with its status."""
    ids = [f"wk-{uuid.uuid4().hex[:12]}" for _ in range(count)]

    def one(request_id: str) -> tuple[str, int]:
        headers = {**AUTH, "X-Request-Id": request_id}
        return request_id, _get(
            served.base, "/v2/customers/lookup", params=LOOKUP, headers=headers
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(one, ids))


def test_two_workers_sum_their_metrics_and_follow_config_changes(served: Served) -> None:
    put = httpx.put(f"{served.base}/admin/orgs/{ORG}", json=org_doc("INSTORE"), headers=ADMIN)
    assert put.status_code == 200, put.text

    # Requests over several connections, until both workers have answered some.
    pids: set[int] = set()
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        while len(pids) < WORKERS and sent < 2000:
            answers = list(pool.map(lambda _: _get(served.base, "/healthz"), range(40)))
            assert {a.status_code for a in answers} == {200}
            pids |= {a.json()["pid"] for a in answers}
            sent += len(answers)
    assert len(pids) == WORKERS, f"one worker answered all {sent} requests"

    # Every scrape sums all workers, whichever worker answers it.
    for _ in range(6):
        samples = parse(_get(served.base, "/metrics").text)
        assert (
            value(
                samples, "patron_http_requests_total", method="GET", route="/healthz", status="200"
            )
            == sent
        )
        assert (
            value(
                samples,
                "patron_http_request_duration_seconds_count",
                method="GET",
                route="/healthz",
            )
            == sent
        )

    # Pool gauges add up the workers' pools (each records its own every second).
    per_worker = 1 if served.backend == "sqlite" else POOL_SIZE
    wait_until(
        lambda: (
            value(parse(_get(served.base, "/metrics").text), "patron_db_pool_max")
            == WORKERS * per_worker
        ),
        timeout=5,
    )

    # Every worker reports its event-loop lag and its GC pauses (at least start-up's full
    # collection before the freeze) into the shared files.
    def stalls_reported() -> bool:
        samples = parse(_get(served.base, "/metrics").text)
        return (
            value(samples, "patron_event_loop_lag_seconds_count") >= 2 * WORKERS
            and value(samples, "patron_gc_pause_seconds_count", generation="2") >= WORKERS
        )

    wait_until(stalls_reported, timeout=5)

    # Before the change ECOMMERCE is not a source of the org (400) on every worker...
    before = _lookups(served, 40)
    assert set(before.values()) == {400}
    assert set(served.pids_of(set(before)).values()) == pids

    # ...and within the cache's bound after it, every worker knows it (404: no such customer).
    changed = httpx.put(
        f"{served.base}/admin/orgs/{ORG}", json=org_doc("INSTORE", "ECOMMERCE"), headers=ADMIN
    )
    assert changed.status_code == 200, changed.text
    time.sleep(CACHE_SECONDS + 0.2)
    after = _lookups(served, 40)
    assert set(after.values()) == {404}
    assert set(served.pids_of(set(after)).values()) == pids

    # The request lines are JSON, with the route template, the org and the till.
    line = next(
        orjson.loads(raw)
        for raw in served.log.read_bytes().splitlines()
        if raw.startswith(b"{") and next(iter(after)).encode() in raw
    )
    assert (line["route"], line["org"], line["till"]) == (
        "/v2/customers/lookup",
        ORG,
        "workers.till",
    )


def test_serve_prepares_a_fresh_metrics_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with multiprocess_directory(1) as none:
        assert none is None and ENV not in os.environ
    with multiprocess_directory(2) as made:
        assert made is not None and os.environ[ENV] == str(made)
        assert list(made.iterdir()) == []
        (made / "counter_123.db").write_bytes(b"x")
    assert not made.exists() and ENV not in os.environ


def test_a_given_metrics_directory_is_emptied_of_a_previous_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_99.db").write_bytes(b"stale")
    (given / "notes.txt").write_text("not ours")
    monkeypatch.setenv(ENV, str(given))
    with multiprocess_directory(4) as path:
        assert path == given
        assert sorted(p.name for p in given.iterdir()) == ["notes.txt"]
    assert given.exists()
