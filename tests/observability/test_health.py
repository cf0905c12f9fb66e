"""/healthz answers while the process runs; /readyz only when the database answers at head."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from starlette.testclient import TestClient

from patron.app import create_app
from patron.db.migrate import upgrade
from patron.db.revisions import head_revision
from tests.conftest import PG_ADMIN_URL, make_settings
from tests.integrity.tcp_proxy import tcp_proxy
from tests.live import free_port


def checks(response: Any) -> dict[str, bool]:
    return {c["name"]: c["ok"] for c in response.json()["checks"]}


@pytest.fixture
def app_on(tmp_path: Path) -> Iterator[Any]:
    """Start an app on a given database URL (the lifespan runs); closed at the end."""
    clients: list[TestClient] = []

    def start(url: str, **settings: Any) -> TestClient:
        client = TestClient(create_app(make_settings(url, **settings)))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def test_healthz_answers_with_the_worker_pid(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "pid": os.getpid()}


def test_readyz_is_200_when_the_database_answers_at_head(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["failed"] == []
    assert checks(response) == {"database": True, "migrations": True}
    assert head_revision() in body["checks"][1]["detail"]


def test_readyz_is_503_when_the_database_is_unreachable(app_on: Any) -> None:
    # Nothing listens on this port: every connection is refused.
    app = app_on(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    assert app.get("/healthz").status_code == 200  # alive, but not ready
    response = app.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database", "migrations"]
    assert response.json()["checks"][0]["detail"] == "unreachable"


@pytest.mark.skipif(PG_ADMIN_URL is None, reason="needs PostgreSQL")
def test_readyz_follows_the_database_going_away_and_back(app_on: Any, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the proxy stands in front of PostgreSQL")
    parsed = urlparse(database_url)
    with tcp_proxy((parsed.hostname or "127.0.0.1", parsed.port or 5432)) as proxy:
        app = app_on(parsed._replace(netloc=f"postgres@127.0.0.1:{proxy.port}").geturl())
        assert app.get("/readyz").status_code == 200
        proxy.cut()
        cut = app.get("/readyz")
        assert cut.status_code == 503
        assert cut.json()["failed"][0] == "database"
        proxy.restore()
        assert app.get("/readyz").status_code == 200


@pytest.mark.skipif(PG_ADMIN_URL is None, reason="needs PostgreSQL")
def test_readyz_is_503_when_the_database_stops_answering(app_on: Any, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the proxy stands in front of PostgreSQL")
    parsed = urlparse(database_url)
    with tcp_proxy((parsed.hostname or "127.0.0.1", parsed.port or 5432)) as proxy:
        url = parsed._replace(netloc=f"postgres@127.0.0.1:{proxy.port}").geturl()
        # Short driver bounds too, so that closing the app does not wait on the stalled socket.
        app = app_on(
            url,
            readiness_timeout_seconds=0.3,
            db_timeout_seconds=1,
            db_connect_timeout_seconds=1,
        )
        proxy.stall()
        response = app.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"][0]["detail"] == "no answer within 0.3 s"
        proxy.restore()


def test_readyz_is_503_when_migrations_are_behind(app_on: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(url, "0002")
    response = app_on(url).get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["migrations"]
    assert checks(response) == {"database": True, "migrations": False}
    assert response.json()["checks"][1]["detail"] == f"at 0002, expected {head_revision()}"


def test_readyz_is_503_on_a_database_never_migrated(app_on: Any, tmp_path: Path) -> None:
    response = app_on(f"sqlite:///{tmp_path / 'empty.db'}").get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["migrations"]


def test_operator_routes_have_their_own_openapi_tag(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/metrics", "/healthz", "/readyz"):
        assert paths[path]["get"]["tags"] == ["operations"], path
        assert "security" not in paths[path]["get"]
