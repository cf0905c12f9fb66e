"""Faults (PostgreSQL): the database down, restarted, partitioned or locked, under load and at start.

Every request answers 200 or 503 with code 8114 and a Retry-After, within a bound, and never
with a 500, a stack trace or SQL; the service recovers by itself when the database comes back
(no restart); and no request leaves a partial write. PostgreSQL faults are made without touching
the shared server: patron's own backends are terminated (`pg_terminate_backend`, filtered by
application name and database), or the server reaches PostgreSQL through a TCP proxy that the
test cuts, stalls and restores (tests/integrity/tcp_proxy.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
import pytest
from starlette.testclient import TestClient

from patron.db.driver import (
    DatabaseUnavailable,
    PostgresDatabase,
    parse_database_url,
)
from tests.conftest import run
from tests.integrity.faults import (
    DB_TIMEOUT,
    FAULT_SETTINGS,
    REQUEST_BOUND,
    SEEDS,
    SLACK,
    TERMINATE,
    WRITERS,
    Org,
    answers_200,
    assert_unavailable,
    history_length,
    lookup,
    pg_address,
    proxied,
    timed,
    update_field,
    warm_up,
)
from tests.integrity.invariants import integrity_problems, load_stored
from tests.integrity.tcp_proxy import tcp_proxy
from tests.live import httpx, live_server, wait_until

# --- (a) backends terminated under load -----------------------------------------------------


@dataclass
class Call:
    """One request of the load and what came back."""

    request_id: str
    status: int  # 0: no answer (a hang past the client's timeout, or a dropped connection)
    elapsed: float
    customer_id: int | None  # the seed updated, or the id a registration answered
    field: str | None = None
    value: str | None = None
    external_id: str | None = None
    points: int = 0


LOAD_SECONDS = 6.0
KILL_AT = (1.0, 2.5, 4.0)


async def _writer(
    http: httpx.AsyncClient, org: Org, i: int, stop_at: float, calls: list[Call]
) -> None:
    """Client `i`: updates its own field of one seed, and every fourth call registers someone."""
    mobiles = list(org.seeds)
    n = 0
    while time.monotonic() < stop_at:
        if n % 4 == 3:
            call = Call(f"reg-{i}-{n}", 0, 0.0, None, external_id=f"R{i}-{n}", points=n + 1)
            request = http.build_request(
                "POST",
                "/v2/customers",
                json={
                    "profiles": [
                        {
                            "source": "INSTORE",
                            "identifiers": [{"type": "externalId", "value": call.external_id}],
                        }
                    ],
                    "loyaltyProgramEnrollments": [{"programId": 1, "loyaltyPoints": call.points}],
                },
                headers={"X-Request-Id": call.request_id},
            )
        else:
            mobile = mobiles[i % SEEDS]
            call = Call(f"upd-{i}-{n}", 0, 0.0, org.seeds[mobile], field=f"f{i}", value=f"v{n}")
            request = http.build_request(
                "PUT",
                "/v2/customers/lookup",
                params=lookup(mobile),
                json={"extendedFields": {call.field: call.value}},
                headers={"X-Request-Id": call.request_id},
            )
        start = time.monotonic()
        try:
            response = await http.send(request)
        except httpx.TransportError:  # no answer in time, or the connection dropped
            call.elapsed = time.monotonic() - start
            calls.append(call)
            n += 1
            continue
        call.elapsed = time.monotonic() - start
        call.status = response.status_code
        if response.status_code == 200 and call.external_id is not None:
            call.customer_id = response.json()["createdId"]
        elif response.status_code == 503:
            assert_unavailable(response)
        calls.append(call)
        n += 1


async def _terminator(database_url: str, started: float, killed: list[int]) -> None:
    """Terminate patron's backends on the test database at each of KILL_AT."""
    conn = await asyncpg.connect(database_url)  # application_name is not 'patron': spared
    try:
        for at in KILL_AT:
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            killed.append(int(await conn.fetchval(TERMINATE)))
    finally:
        await conn.close()


async def _load(base: str, database_url: str, org: Org) -> tuple[list[Call], list[int]]:
    calls: list[Call] = []
    killed: list[int] = []
    started = time.monotonic()
    limits = httpx.Limits(max_connections=WRITERS)
    async with httpx.AsyncClient(
        base_url=base, headers=org.auth, timeout=REQUEST_BOUND + 5, limits=limits
    ) as http:
        await asyncio.gather(
            _terminator(database_url, started, killed),
            *(_writer(http, org, i, started + LOAD_SECONDS, calls) for i in range(WRITERS)),
        )
    return calls, killed


@pytest.mark.postgres_only
def test_backends_terminated_under_load_answer_503_and_leave_no_partial_write(
    pg_url: str, client: TestClient, org: Org
) -> None:
    with live_server(pg_url, **FAULT_SETTINGS) as base:
        calls, killed = asyncio.run(_load(base, pg_url, org))
        # Recovery without a restart: the same server answers 200 again once the faults stop.
        with httpx.Client(base_url=base, headers=org.auth, timeout=REQUEST_BOUND + 5) as http:
            for i, mobile in enumerate(org.seeds):
                after = Call(f"after-{i}", 0, 0.0, org.seeds[mobile], field=f"f{i}", value="after")
                response, after.elapsed = timed(
                    partial(
                        http.put,
                        "/v2/customers/lookup",
                        params=lookup(mobile),
                        json={"extendedFields": {f"f{i}": "after"}},
                        headers={"X-Request-Id": after.request_id},
                    )
                )
                after.status = response.status_code
                assert response.status_code == 200, response.text
                calls.append(after)

    statuses = Counter(c.status for c in calls)
    slowest = max(c.elapsed for c in calls)
    print(
        f"\nfault load: {len(calls)} requests, {statuses[200]} x 200, {statuses[503]} x 503,"
        f" {sum(s for code, s in statuses.items() if code not in (200, 503))} other;"
        f" backends terminated {killed}; slowest {slowest:.2f} s"
    )
    assert sum(killed) > 0 and all(k > 0 for k in killed), killed
    assert set(statuses) <= {200, 503}, statuses  # no 500, and no hang (status 0)
    assert statuses[503] > 0, "the terminations hit no request: the test proved nothing"
    assert slowest < REQUEST_BOUND, slowest

    stored = run(client, lambda conn: load_stored(conn, org.code))
    assert integrity_problems(stored) == []
    written = {
        request_id: (cid, changes)
        for cid, entries in stored.history.items()
        for request_id, changes in entries.values()
    }
    committed_503 = 0
    for call in calls:
        entry = written.get(call.request_id)
        if call.status == 503:
            committed_503 += entry is not None  # the fault struck after the commit was sent
            continue
        # Every change a 200 announced is stored, on the right customer.
        assert entry is not None, call
        cid, changes = entry
        assert cid == call.customer_id, call
        if call.external_id is not None:
            assert stored.identifiers[("externalId", call.external_id)] == cid
            assert (cid, 1, 1, call.points, call.request_id) in stored.ledger, call
        else:
            path = f"extendedFields.{call.field}"
            assert any(c["path"] == path and c["new"] == call.value for c in changes), call
    print(f"fault load: {committed_503} of the 503s had committed (outcome unknown to the client)")


# --- (b) PostgreSQL unreachable, partitioned, and down at start -----------------------------


@pytest.mark.postgres_only
def test_database_unreachable_then_back_without_restart(pg_url: str, org: Org) -> None:
    with (
        tcp_proxy(pg_address(pg_url)) as proxy,
        live_server(proxied(pg_url, proxy.port), **FAULT_SETTINGS) as base,
        httpx.Client(base_url=base, headers=org.auth, timeout=REQUEST_BOUND + 5) as http,
    ):
        assert update_field(http, org, "before").status_code == 200

        proxy.cut()  # the database goes down: connections reset, new ones refused
        for k in range(3):
            response, elapsed = timed(partial(update_field, http, org, f"down-{k}"))
            assert_unavailable(response)
            assert elapsed < DB_TIMEOUT + SLACK, elapsed
        assert_unavailable(http.get(f"/v2/customers/{next(iter(org.seeds.values()))}"))

        proxy.restore()  # and comes back: the same server answers again
        wait_until(lambda: answers_200(http, org, "back"), timeout=5)

        proxy.stall()  # a partition: nothing is refused, nothing answers
        for k in range(2):
            response, elapsed = timed(partial(update_field, http, org, f"stalled-{k}"))
            assert_unavailable(response)
            assert elapsed < DB_TIMEOUT + SLACK, elapsed  # cut at the deadline, not hung

        proxy.restore()
        wait_until(lambda: answers_200(http, org, "healed"), timeout=5)
        assert update_field(http, org, "healed-again").status_code == 200


@pytest.mark.postgres_only
def test_server_starts_while_database_is_down_then_serves_when_it_is_back(
    pg_url: str, org: Org
) -> None:
    with tcp_proxy(pg_address(pg_url)) as proxy:
        proxy.cut()
        with (
            live_server(proxied(pg_url, proxy.port), **FAULT_SETTINGS) as base,
            httpx.Client(base_url=base, headers=org.auth, timeout=REQUEST_BOUND + 5) as http,
        ):
            response, elapsed = timed(lambda: update_field(http, org, "while-down"))
            assert_unavailable(response)
            assert elapsed < DB_TIMEOUT + SLACK, elapsed
            proxy.restore()
            wait_until(lambda: answers_200(http, org, "up"), timeout=5)


# --- statement timeout, the deadline, and an exhausted pool --------------------------------


async def _while_row_locked(
    database_url: str, customer_id: int, org: Org, during: Callable[[], Any]
) -> Any:
    """Run `during()` in a thread while another session holds the customer's row lock."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT 1 FROM customers WHERE org_id = $1 AND id = $2 FOR UPDATE",
                org.code,
                customer_id,
            )
            return await asyncio.to_thread(during)
    finally:
        await conn.close()


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("statement_timeout_ms", "db_timeout", "cut_by"),
    [(300, 5.0, "the server's statement_timeout"), (10000, 1.0, "patron's own deadline")],
)
def test_a_statement_held_up_by_a_lock_is_503_and_leaves_nothing_behind(
    pg_url: str,
    client: TestClient,
    org: Org,
    statement_timeout_ms: int,
    db_timeout: float,
    cut_by: str,
) -> None:
    mobile, cid = next(iter(org.seeds.items()))
    before = history_length(client, org, cid)
    settings = {"statement_timeout_ms": statement_timeout_ms, "db_timeout_seconds": db_timeout}
    with (
        live_server(pg_url, **settings) as base,
        httpx.Client(base_url=base, headers=org.auth, timeout=db_timeout + 5) as http,
    ):
        warm_up(http, cid)

        def blocked() -> tuple[httpx.Response, float, httpx.Response]:
            update, elapsed = timed(
                lambda: http.put(
                    "/v2/customers/lookup",
                    params=lookup(mobile),
                    json={"extendedFields": {"f1": "blocked"}},
                )
            )
            # Reading is not held up by a writer's row lock.
            return update, elapsed, http.get(f"/v2/customers/{cid}")

        update, elapsed, read = asyncio.run(_while_row_locked(pg_url, cid, org, blocked))
        assert_unavailable(update)
        limit = min(statement_timeout_ms / 1000, db_timeout)
        assert limit <= elapsed < limit + SLACK, (cut_by, elapsed)
        assert read.status_code == 200, read.text
        # The cancelled statement did not go on to write once the lock was gone.
        assert history_length(client, org, cid) == before
        assert "blocked" not in str(read.json()["extendedFields"])
        assert update_field(http, org, "unblocked").status_code == 200


@pytest.mark.postgres_only
def test_waiting_for_a_pooled_connection_is_bounded(pg_url: str) -> None:
    async def scenario() -> float:
        dsn = parse_database_url(pg_url).driver_dsn
        db = PostgresDatabase(
            dsn, pool_size=1, statement_timeout_ms=1000, connect_timeout_s=0.5, timeout_s=0.5
        )
        await db.open()
        try:
            pool = db._pool
            assert pool is not None
            # The pool's only connection is kept past the bound, as by a unit of work still
            # running. It is taken straight from the pool so that it has no deadline of its own:
            # two units with equal deadlines would race to release and to give up.
            held = await pool.acquire()
            try:
                start = time.monotonic()
                with pytest.raises(DatabaseUnavailable):
                    async with db.transaction(write=False) as conn:
                        await conn.fetchval("SELECT 1")
                elapsed = time.monotonic() - start
            finally:
                await pool.release(held)
            async with db.transaction(write=False) as conn:  # and it serves again once free
                assert await conn.fetchval("SELECT 1") == 1
            return elapsed
        finally:
            await db.close()

    elapsed = asyncio.run(scenario())
    assert 0.5 <= elapsed < 0.5 + SLACK, elapsed
