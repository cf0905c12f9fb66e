"""Real databases for every test: SQLite always, PostgreSQL when reachable.

Each backend is migrated once per session with the real migrations; the app runs in-process
through Starlette's TestClient; customer data is wiped before each test while org
configurations stay (tests that change an org use their own org code).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlparse

import asyncpg
import pytest
import uvicorn
from starlette.testclient import TestClient

from patron.app import create_app
from patron.config import Settings
from patron.db.driver import Connection, Database
from patron.db.migrate import upgrade

T = TypeVar("T")

ADMIN_TOKEN = "test-admin-token"
SECRET_KEY = "test-secret-key-0123456789abcdef"
PASSWORD = "s3cret-pass"

CUSTOMER_TABLES = (
    "outbox",
    "import_runs",
    "idempotency_keys",
    "points_ledger",
    "customer_history",
    "subscriptions",
    "enrolments",
    "identifiers",
    "identifier_owners",
    "customers",
)

ACME: dict[str, Any] = {
    "name": "Acme Retail",
    "defaultCountry": "IN",
    "strictFields": True,
    "sources": [
        {"source": "INSTORE"},
        {"source": "ECOMMERCE"},
        {"source": "WECHAT", "accounts": ["wc_main", "wc_promo"]},
        {"source": "MOBILE_APP", "accounts": ["app1"]},
        {"source": "FACEBOOK", "accounts": ["fb1"]},
    ],
    "tills": [{"code": "acme.till", "password": PASSWORD}],
    "oauthClients": [{"key": "acme-backend", "secret": "long-random-secret", "till": "acme.till"}],
    "extendedFields": [
        {"name": "gender", "dataType": "STANDARD_ENUM", "values": ["Male", "Female", "Other"]},
        {"name": "city", "dataType": "STRING"},
        {"name": "dob", "dataType": "DATE"},
        {"name": "anniversary", "dataType": "DATETIME"},
        {"name": "nationality", "dataType": "COUNTRY"},
        {"name": "preferred_language", "dataType": "LANGUAGE"},
        {"name": "children", "dataType": "INTEGER"},
        {"name": "annual_income", "dataType": "DOUBLE"},
        {"name": "is_vip", "dataType": "BOOLEAN"},
    ],
    "customFields": [
        {"name": "employee"},
        {"name": "favourite_colour"},
        {"name": "shoe_size", "dataType": "INTEGER"},
    ],
    "programs": [
        {
            "programId": 1016,
            "name": "Acme Rewards",
            "default": True,
            "tiers": [
                {"number": 1, "name": "Silver"},
                {"number": 2, "name": "Gold"},
                {"number": 3, "name": "Platinum"},
            ],
        },
        {"programId": 2020, "name": "Acme Kids", "tiers": [{"number": 1, "name": "Starter"}]},
    ],
}

# A second org, to prove isolation; it reuses program 1016 on purpose.
GLOBEX: dict[str, Any] = {
    "name": "Globex",
    "defaultCountry": "US",
    "sources": [{"source": "INSTORE"}],
    "tills": [{"code": "globex.till", "password": PASSWORD}],
    "programs": [
        {
            "programId": 1016,
            "name": "Globex Club",
            "default": True,
            "tiers": [{"number": 1, "name": "Basic"}],
        }
    ],
}


def basic(till: str, password: str = PASSWORD) -> dict[str, str]:
    """The Basic header a Capillary client sends: base64(till:md5hex(password))."""
    md5 = hashlib.md5(password.encode()).hexdigest()
    token = base64.b64encode(f"{till}:{md5}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ACME_AUTH = basic("acme.till")
GLOBEX_AUTH = basic("globex.till")
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _pg_admin_url() -> str | None:
    """PATRON_TEST_POSTGRES_URL if set (it must then work), else the local server if it answers."""
    url = os.environ.get("PATRON_TEST_POSTGRES_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return "postgresql://postgres@127.0.0.1:5432/test"
    except OSError:
        return None


PG_ADMIN_URL = _pg_admin_url()

PG_POOLER_URL = os.environ.get("PATRON_TEST_POSTGRES_POOLER_URL")
"""A pooler in front of PG_ADMIN_URL's server (PgBouncer in transaction mode, `.ci/run`): the
apps under test then reach each test database through it (with PATRON_DATABASE_POOLER set),
while CREATE DATABASE, DROP DATABASE and the migrations go to PostgreSQL directly."""
BACKENDS = ["sqlite"] + (["postgresql"] if PG_ADMIN_URL else [])


def pytest_report_header() -> str:
    pooler = f" (PostgreSQL through {PG_POOLER_URL})" if PG_POOLER_URL else ""
    return f"patron backends: {', '.join(BACKENDS)}{pooler}"


async def _pg_admin(sql: str) -> None:
    assert PG_ADMIN_URL
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A freshly migrated database of each backend, for the whole session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "patron.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    assert PG_ADMIN_URL
    name = f"patron_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    parsed = urlparse(PG_ADMIN_URL)
    url = parsed._replace(path=f"/{name}").geturl()
    upgrade(url)
    yield urlparse(PG_POOLER_URL)._replace(path=f"/{name}").geturl() if PG_POOLER_URL else url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """uvicorn.run replaced by a recorder of its (args, kwargs); the variables `patron serve`
    exports restored after."""
    started: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append((a, k)))
    for name in ("PATRON_DATABASE_URL", "PATRON_ADMIN_TOKEN", "PATRON_SECRET_KEY"):
        monkeypatch.setenv(name, "placeholder")  # so that the test's changes are undone
        monkeypatch.delenv(name)
    return started


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test app on `database_url`."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "secret_key": SECRET_KEY,
        "config_cache_seconds": 0,
        # Every test request reaches one long-lived app from one address ("testclient"): the
        # tests that send bad credentials on purpose would otherwise trip the failure throttle.
        # tests/security runs its throttle tests on apps of their own.
        "auth_failure_limit": 0,
        # The collector settings are process-wide: the test process keeps Python's own, and
        # never freezes the objects of one test app after another (tests/observability covers them).
        "gc_freeze": False,
        "gc_gen0_threshold": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def app_client(database_url: str) -> Iterator[TestClient]:
    """One running app per backend, with the ACME and GLOBEX orgs applied."""
    app = create_app(make_settings(database_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        for code, doc in (("acme", ACME), ("globex", GLOBEX)):
            response = client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN)
            assert response.status_code == 200, response.text
        yield client


def run(client: TestClient, fn: Callable[[Connection], Awaitable[T]], *, write: bool = False) -> T:
    """Run `fn(conn)` in a transaction on the app's own database and event loop."""
    db: Database = client.app.state.db  # type: ignore[attr-defined]

    async def go() -> T:
        async with db.transaction(write=write) as conn:
            return await fn(conn)

    assert client.portal is not None
    return client.portal.call(go)


def count_rows(client: TestClient, table: str) -> int:
    """Rows in one table (all orgs)."""

    async def q(conn: Connection) -> int:
        return int(await conn.fetchval(f"SELECT COUNT(*) FROM {table}"))

    return run(client, q)


def table_counts(client: TestClient) -> dict[str, int]:
    """Row counts of every customer-data table: equal before and after means nothing was stored."""
    return {t: count_rows(client, t) for t in CUSTOMER_TABLES}


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    """The backend's app, with no customers yet."""

    async def wipe(conn: Connection) -> None:
        for table in CUSTOMER_TABLES:
            await conn.execute(f"DELETE FROM {table}")

    run(app_client, wipe, write=True)
    return app_client


@pytest.fixture
def backend(database_url: str) -> str:
    """'sqlite' or 'postgresql'."""
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def acme_doc(**changes: Any) -> dict[str, Any]:
    """A copy of the ACME document with top-level keys replaced."""
    doc = copy.deepcopy(ACME)
    doc.update(changes)
    return doc


def new_org_code(prefix: str = "org") -> str:
    """A fresh org code, so a test can change its org's configuration freely."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
