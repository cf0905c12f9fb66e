"""An update (and a consent change) on PostgreSQL reads the customer without a lock and stores it with one statement
that checks the version it read (two round trips, no BEGIN or COMMIT). A customer changed in
between gets nothing from that statement; the update runs again holding the customer's lock.
SQLite keeps its write transaction."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from patron.customers import consent_repository, repository, writes
from patron.customers.rows import PlanRows
from patron.db.driver import Connection, Database
from tests.builders import register, update
from tests.conftest import ACME_AUTH, PG_POOLER_URL, run
from tests.customers.consent import post, states, sub


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each update statement sent, whether its connection was outside a transaction."""
    seen: list[bool] = []
    real = writes._update_in_one_statement

    async def spy(conn: Connection, rows: PlanRows) -> None:
        seen.append(conn.autocommit)
        await real(conn, rows)

    monkeypatch.setattr(writes, "_update_in_one_statement", spy)
    return seen


def _history(client: TestClient, customer_id: int) -> list[int]:
    async def q(conn: Connection) -> list[int]:
        rows = await conn.fetch(
            "SELECT version FROM customer_history WHERE org_id = 'acme' AND customer_id = $1"
            " ORDER BY version",
            customer_id,
        )
        return [int(r["version"]) for r in rows]

    return run(client, q)


def _interfere_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, module: Any, read: str, cid: int
) -> None:
    """The first call of `module.read` is followed by another writer's commit of a new version
    of customer `cid` (before the request that made the call writes)."""
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    real = getattr(module, read)
    interfered: list[int] = []

    async def read_then_interfere(conn: Connection, *args: Any) -> Any:
        found = await real(conn, *args)
        if not interfered:
            async with db.transaction(write=True) as other:
                await other.execute(
                    "UPDATE customers SET version = version + 1 WHERE org_id = 'acme' AND id = $1",
                    cid,
                )
            interfered.append(cid)
        return found

    monkeypatch.setattr(module, read, read_then_interfere)


def test_an_update_is_stored_by_one_checked_statement(
    client: TestClient, backend: str, stores: list[bool]
) -> None:
    cid = register(client)
    response = update(client, {"extendedFields": {"city": "Pune"}})
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    # PostgreSQL stores an update with one statement, outside a transaction (in one behind a
    # pooler); SQLite stores it statement by statement in its write transaction.
    if backend == "postgresql":
        assert stores == [PG_POOLER_URL is None]
    else:
        assert stores == []
    assert _history(client, cid) == [1, 2]


def test_a_customer_changed_after_the_read_is_updated_again_under_its_lock(
    client: TestClient, backend: str, stores: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql" or PG_POOLER_URL is not None:
        pytest.skip("a write transaction (SQLite's, or any behind a pooler) locks from the read on")
    cid = register(client)
    # Between the update's read and its write, another writer commits a new version.
    _interfere_after(client, monkeypatch, repository, "holders", cid)
    response = update(client, {"extendedFields": {"city": "Pune"}})
    assert response.status_code == 200, response.text
    # The checked statement found version 2, wrote nothing, and the locked run stored version 3.
    assert stores == [True, False]
    assert response.headers["ETag"] == '"3"'
    assert _history(client, cid) == [1, 3]
    got = client.get(f"/v2/customers/{cid}", headers=ACME_AUTH)
    assert got.status_code == 200, got.text
    assert got.json()["extendedFields"]["city"] == "Pune"


def test_a_consent_change_is_checked_like_an_update(
    client: TestClient, backend: str, stores: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = register(client)
    response = post(client, cid, {"subscriptions": [sub("EMAIL", "BULK", "OPTOUT")]})
    assert response.status_code == 200, response.text
    if backend != "postgresql":
        assert stores == []
        return
    assert stores == [PG_POOLER_URL is None]
    if PG_POOLER_URL is not None:
        return
    # Between the read of the states and the write, another writer commits a new version.
    _interfere_after(client, monkeypatch, consent_repository, "states", cid)
    stores.clear()
    response = post(client, cid, {"subscriptions": [sub("SMS", "BULK", "OPTOUT")]})
    assert response.status_code == 200, response.text
    # Version 2 was the consent change above; the interference made 3; the locked run wrote 4.
    assert stores == [True, False]
    assert _history(client, cid) == [1, 2, 4]
    listed = {(s["channel"], s["priority"]): s["type"] for s in states(client, cid)}
    assert listed[("SMS", "BULK")] == listed[("EMAIL", "BULK")] == "OPTOUT"
