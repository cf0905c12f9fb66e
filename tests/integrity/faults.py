"""Shared by the fault tests: bounds, the test org, and small helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pytest
from starlette.testclient import TestClient

from patron.db.driver import (
    Connection,
)
from tests.conftest import ADMIN, PASSWORD, basic, new_org_code, run
from tests.live import httpx

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


def update_field(http: httpx.Client, org: Org, value: str) -> httpx.Response:
    """Set extended field f0 of the test org's first seed customer."""
    mobile = next(iter(org.seeds))
    return http.put(
        "/v2/customers/lookup", params=lookup(mobile), json={"extendedFields": {"f0": value}}
    )


def history_length(client: TestClient, org: Org, customer_id: int) -> int:
    """How many history entries a customer of the test org has."""

    async def count(conn: Connection) -> int:
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM customer_history WHERE org_id = $1 AND customer_id = $2",
                org.code,
                customer_id,
            )
        )

    return run(client, count)


def answers_200(http: httpx.Client, org: Org, value: str) -> bool:
    """Whether an update of the test org's seed customer succeeds now."""
    return update_field(http, org, value).status_code == 200
