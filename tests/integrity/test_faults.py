"""Faults: the database down, restarted, partitioned or locked, under load and at start.

Every request answers 200 or 503 with code 8114 and a Retry-After, within a bound, and never
with a 500, a stack trace or SQL; the service recovers by itself when the database comes back
(no restart); and no request leaves a partial write. PostgreSQL faults are made without touching
the shared server: patron's own backends are terminated (`pg_terminate_backend`, filtered by
application name and database), or the server reaches PostgreSQL through a TCP proxy that the
test cuts, stalls and restores (tests/integrity/tcp_proxy.py).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
import pytest
from starlette.testclient import TestClient

from patron.app import create_app
from patron.db.driver import (
    Connection,
    DatabaseUnavailable,
    PostgresDatabase,
    parse_database_url,
)
from patron.db.migrate import upgrade
from tests.conftest import ACME, ACME_AUTH, ADMIN, PASSWORD, basic, make_settings, new_org_code, run
from tests.integrity.tcp_proxy import tcp_proxy
from tests.live import httpx, live_server, wait_until

WRITERS = 8
SEEDS = 4
DB_TIMEOUT = 1.5
"""PATRON_DB_TIMEOUT_SECONDS of the servers under test: the bound of one unit of work."""
CONNECT_TIMEOUT = 0.75
SLACK = 1.5
"""Scheduling and HTTP time on top of a bound, on a busy test machine (still far below
what an unbounded wait would take: the statement timeouts, the client timeouts)."""
REQUEST_BOUND = 4 * DB_TIMEOUT + SLACK
"""A request runs at most four units of work (docs/reliability.md, Faults), each within its bound."""
FAULT_SETTINGS: dict[str, Any] = {
    "db_timeout_seconds": DB_TIMEOUT,
    "db_connect_timeout_seconds": CONNECT_TIMEOUT,
    "statement_timeout_ms": 1000,
}
LEAKS = ("Traceback", 'File "', "SELECT", "INSERT", "UPDATE ", "asyncpg", "sqlite", "Error:")
TERMINATE = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE application_name = 'patron' AND datname = current_database()"
    " AND pid <> pg_backend_pid()"
)


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
def pg_url(database_url: str, backend: str) -> str:
    """The session's PostgreSQL database; the test is skipped on SQLite."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL fault: needs a server whose backends and network can fail")
    return database_url


@pytest.fixture
def sqlite_url(database_url: str, backend: str) -> str:
    """The session's SQLite database; the test is skipped on PostgreSQL."""
    if backend != "sqlite":
        pytest.skip("SQLite fault: file locks and file errors exist only on SQLite")
    return database_url


@dataclass(frozen=True)
class Org:
    """An org of the fault tests: its code, Basic header and seeded customers (id by mobile)."""

    code: str
    auth: dict[str, str]
    seeds: dict[str, int]


@pytest.fixture
def org(client: TestClient) -> Org:
    """An org with one STRING extended field per writer, a points program and seeded customers."""
    code = new_org_code("fault")
    doc = {
        "name": "Faults",
        "defaultCountry": "IN",
        "sources": [{"source": "INSTORE"}],
        "tills": [{"code": f"{code}.till", "password": PASSWORD}],
        "extendedFields": [{"name": f"f{i}", "dataType": "STRING"} for i in range(WRITERS)],
        "programs": [
            {"programId": 1, "name": "P", "default": True, "tiers": [{"number": 1, "name": "T"}]}
        ],
    }
    assert client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN).status_code == 200
    auth = basic(f"{code}.till")
    seeds = {}
    for k in range(SEEDS):
        mobile = f"9199990005{k:02d}"
        body = {
            "profiles": [
                {"source": "INSTORE", "identifiers": [{"type": "mobile", "value": mobile}]}
            ]
        }
        response = client.post("/v2/customers", json=body, headers=auth)
        assert response.status_code == 200, response.text
        seeds[mobile] = response.json()["createdId"]
    return Org(code, auth, seeds)


def lookup(mobile: str) -> dict[str, str]:
    """Lookup parameters of an INSTORE mobile."""
    return {"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile}


def assert_unavailable(response: httpx.Response) -> None:
    """503 with code 8114, a Retry-After, and nothing of the fault's internals in the body."""
    assert response.status_code == 503, response.text
    assert [e["code"] for e in response.json()["errors"]] == [8114], response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert not any(leak in response.text for leak in LEAKS), response.text


def warm_up(http: httpx.Client, customer_id: int) -> None:
    """One request, so that the credential is verified (argon2) before anything is timed."""
    assert http.get(f"/v2/customers/{customer_id}").status_code == 200


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    """A response and how long it took, in seconds."""
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def proxied(url: str, port: int) -> str:
    """`url` with its host and port replaced by the proxy's."""
    parsed = urlparse(url)
    netloc = f"{parsed.username}@127.0.0.1:{port}" if parsed.username else f"127.0.0.1:{port}"
    return parsed._replace(netloc=netloc).geturl()


def pg_address(url: str) -> tuple[str, int]:
    """The host and port of a PostgreSQL URL."""
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 5432


# --- the invariant checker ----------------------------------------------------------------


@dataclass
class Stored:
    """The org's customer data as stored, read in one transaction."""

    versions: dict[int, int]
    extended: dict[int, dict[str, Any]]
    history: dict[int, dict[int, tuple[str, list[dict[str, Any]]]]]
    ledger: list[tuple[int, int, int, int, str]]
    enrolments: set[tuple[int, int]]
    profiles: Counter[int]
    identifiers: dict[tuple[str, str], int]


async def load_stored(conn: Connection, org_id: str) -> Stored:
    """Every customer-data row of `org_id`."""
    customers = await conn.fetch(
        "SELECT id, version, extended_fields FROM customers WHERE org_id = $1", org_id
    )
    history: dict[int, dict[int, tuple[str, list[dict[str, Any]]]]] = defaultdict(dict)
    for row in await conn.fetch(
        "SELECT customer_id, version, request_id, changes FROM customer_history WHERE org_id = $1",
        org_id,
    ):
        history[row["customer_id"]][row["version"]] = (row["request_id"], row["changes"])
    ledger = [
        (r["customer_id"], r["version"], r["program_id"], r["points"], r["request_id"])
        for r in await conn.fetch(
            "SELECT customer_id, version, program_id, points, request_id FROM points_ledger"
            " WHERE org_id = $1",
            org_id,
        )
    ]
    enrolments = {
        (r["customer_id"], r["program_id"])
        for r in await conn.fetch(
            "SELECT customer_id, program_id FROM enrolments WHERE org_id = $1", org_id
        )
    }
    profiles = Counter(
        r["customer_id"]
        for r in await conn.fetch("SELECT customer_id FROM profiles WHERE org_id = $1", org_id)
    )
    identifiers = {
        (r["type"], r["value"]): r["customer_id"]
        for r in await conn.fetch(
            "SELECT type, value, customer_id FROM identifiers WHERE org_id = $1", org_id
        )
    }
    return Stored(
        versions={r["id"]: r["version"] for r in customers},
        extended={r["id"]: r["extended_fields"] for r in customers},
        history=history,
        ledger=ledger,
        enrolments=enrolments,
        profiles=profiles,
        identifiers=identifiers,
    )


def _latest_change(stored: Stored, customer_id: int, path: str) -> dict[str, Any] | None:
    """The newest history change of `path` on a customer."""
    for version in sorted(stored.history[customer_id], reverse=True):
        for change in stored.history[customer_id][version][1]:
            if change["path"] == path:
                return change
    return None


def integrity_problems(stored: Stored) -> list[str]:
    """Everything that would show a partial write; empty when the data is whole."""
    problems = []
    for cid, version in stored.versions.items():
        # One history entry per applied write, in order, with nothing missing or extra.
        if sorted(stored.history[cid]) != list(range(1, version + 1)):
            problems.append(
                f"customer {cid}: version {version}, history {sorted(stored.history[cid])}"
            )
        if not stored.profiles[cid] or cid not in stored.identifiers.values():
            problems.append(f"customer {cid} has no profile or no identifier")
        # The stored extended fields are what the history says was last written.
        for key, value in stored.extended[cid].items():
            change = _latest_change(stored, cid, f"extendedFields.{key}")
            if change is None or change["new"] != value:
                problems.append(f"customer {cid}: {key}={value!r} but history says {change}")
    for cid in set(stored.history) - set(stored.versions):
        problems.append(f"history of customer {cid}, who does not exist")
    credited: Counter[tuple[int, int]] = Counter()
    for cid, version, program, points, request_id in stored.ledger:
        credited[(cid, program)] += points
        if (cid, program) not in stored.enrolments:
            problems.append(f"points of customer {cid} in program {program} without an enrolment")
        entry = stored.history[cid].get(version)
        if entry is None or entry[0] != request_id:
            problems.append(f"points of customer {cid} v{version} without their history entry")
            continue
        path = f"loyaltyProgramEnrollments[{program}].loyaltyPoints"
        change = next((c for c in entry[1] if c["path"] == path), None)
        if change is None or change["new"] - (change["old"] or 0) != points:
            problems.append(f"points of customer {cid} v{version}: {points}, history {change}")
    for cid, program in stored.enrolments:
        if cid not in stored.versions:
            problems.append(f"enrolment of customer {cid}, who does not exist")
            continue
        change = _latest_change(stored, cid, f"loyaltyProgramEnrollments[{program}].loyaltyPoints")
        total = change["new"] if change is not None else 0
        if credited[(cid, program)] != total:
            problems.append(
                f"customer {cid} program {program}: ledger {credited[(cid, program)]}, history {total}"
            )
    return problems


def _whole() -> Stored:
    """One customer written twice: registered with 5 points, then an extended field set."""
    enrol: list[dict[str, Any]] = [
        {"path": "loyaltyProgramEnrollments[1]", "old": None, "new": {"programId": 1}},
        {"path": "loyaltyProgramEnrollments[1].loyaltyPoints", "old": 0, "new": 5},
    ]
    field: list[dict[str, Any]] = [{"path": "extendedFields.f0", "old": None, "new": "a"}]
    return Stored(
        versions={7: 2},
        extended={7: {"f0": "a"}},
        history=defaultdict(dict, {7: {1: ("r1", enrol), 2: ("r2", field)}}),
        ledger=[(7, 1, 1, 5, "r1")],
        enrolments={(7, 1)},
        profiles=Counter({7: 1}),
        identifiers={("mobile", "919999000700"): 7},
    )


@pytest.mark.parametrize(
    "damage",
    [
        "history entry missing",
        "ledger row missing",
        "ledger without history",
        "field not in history",
        "enrolment missing",
        "identifier missing",
    ],
)
def test_the_integrity_checker_sees_each_kind_of_partial_write(damage: str) -> None:
    assert integrity_problems(_whole()) == []
    stored = _whole()
    if damage == "history entry missing":
        del stored.history[7][2]
    elif damage == "ledger row missing":
        stored.ledger.clear()
    elif damage == "ledger without history":
        stored.ledger.append((7, 2, 1, 3, "r2"))
    elif damage == "field not in history":
        stored.extended[7]["f0"] = "b"
    elif damage == "enrolment missing":
        stored.enrolments.clear()
    else:
        stored.identifiers.clear()
    assert integrity_problems(stored) != []


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


def _update(http: httpx.Client, org: Org, value: str) -> httpx.Response:
    mobile = next(iter(org.seeds))
    return http.put(
        "/v2/customers/lookup", params=lookup(mobile), json={"extendedFields": {"f0": value}}
    )


def _answers_200(http: httpx.Client, org: Org, value: str) -> bool:
    return _update(http, org, value).status_code == 200


@pytest.mark.postgres_only
def test_database_unreachable_then_back_without_restart(pg_url: str, org: Org) -> None:
    with (
        tcp_proxy(pg_address(pg_url)) as proxy,
        live_server(proxied(pg_url, proxy.port), **FAULT_SETTINGS) as base,
        httpx.Client(base_url=base, headers=org.auth, timeout=REQUEST_BOUND + 5) as http,
    ):
        assert _update(http, org, "before").status_code == 200

        proxy.cut()  # the database goes down: connections reset, new ones refused
        for k in range(3):
            response, elapsed = timed(partial(_update, http, org, f"down-{k}"))
            assert_unavailable(response)
            assert elapsed < DB_TIMEOUT + SLACK, elapsed
        assert_unavailable(http.get(f"/v2/customers/{next(iter(org.seeds.values()))}"))

        proxy.restore()  # and comes back: the same server answers again
        wait_until(lambda: _answers_200(http, org, "back"), timeout=5)

        proxy.stall()  # a partition: nothing is refused, nothing answers
        for k in range(2):
            response, elapsed = timed(partial(_update, http, org, f"stalled-{k}"))
            assert_unavailable(response)
            assert elapsed < DB_TIMEOUT + SLACK, elapsed  # cut at the deadline, not hung

        proxy.restore()
        wait_until(lambda: _answers_200(http, org, "healed"), timeout=5)
        assert _update(http, org, "healed-again").status_code == 200


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
            response, elapsed = timed(lambda: _update(http, org, "while-down"))
            assert_unavailable(response)
            assert elapsed < DB_TIMEOUT + SLACK, elapsed
            proxy.restore()
            wait_until(lambda: _answers_200(http, org, "up"), timeout=5)


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


def _history_length(client: TestClient, org: Org, customer_id: int) -> int:
    async def count(conn: Connection) -> int:
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM customer_history WHERE org_id = $1 AND customer_id = $2",
                org.code,
                customer_id,
            )
        )

    return run(client, count)


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
    before = _history_length(client, org, cid)
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
        assert _history_length(client, org, cid) == before
        assert "blocked" not in str(read.json()["extendedFields"])
        assert _update(http, org, "unblocked").status_code == 200


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


# --- (c) SQLite: a write lock held past the busy timeout, an unusable file, a full disk -----


@pytest.mark.parametrize("writers", [1, WRITERS])
def test_sqlite_write_lock_past_busy_timeout_is_503_then_200(
    sqlite_url: str, client: TestClient, org: Org, writers: int
) -> None:
    mobile, cid = next(iter(org.seeds.items()))
    before = _history_length(client, org, cid)
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
        assert _update(http, org, "released").status_code == 200
    assert _history_length(client, org, cid) == before + 1  # the 503s stored nothing


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
        assert_unavailable(_update(http, org, "unusable"))  # started, and says why not
        # The file comes back (restored from a backup of the session's database).
        source = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
        target = sqlite3.connect(broken.with_suffix(".restored"))
        with source, target:
            source.backup(target)
        source.close()
        target.close()
        shutil.move(broken.with_suffix(".restored"), broken)
        wait_until(lambda: _answers_200(http, org, "restored"), timeout=5)


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
                "comm_channels",
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
