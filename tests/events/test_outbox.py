"""Every stored write leaves its events in the outbox, in the same transaction; nothing else does.

Runs on SQLite and PostgreSQL (on PostgreSQL an update, outbox included, is one statement).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from patron.customers import repository, writes
from patron.customers.events import ENROLLED, POINTS_CREDITED, REGISTERED, UPDATED
from patron.customers.model import Actor
from patron.customers.planner import Change, Plan, Writes
from patron.db.driver import Connection, create_database
from patron.events import outbox as outbox_repo
from patron.events.relay import Relay
from patron.orgs.model import OrgId
from tests.builders import MOBILE, history, profile, register, update
from tests.conftest import ACME_AUTH, run
from tests.events.support import FAST, outbox

ENROL_GOLD = {
    "loyaltyProgramEnrollments": [{"programId": 1016, "tierNumber": 2, "loyaltyPoints": 75}]
}


def types(rows: list[dict[str, Any]]) -> list[str]:
    """The event types of outbox rows."""
    return [r["body"]["type"] for r in rows]


def test_registration_writes_registered_enrolled_and_points_events(client: TestClient) -> None:
    cid = register(client, profile(firstName="Asha"), **ENROL_GOLD)
    rows = outbox(client)
    assert types(rows) == [REGISTERED, ENROLLED, POINTS_CREDITED]
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == 3
    for r in rows:
        body = r["body"]
        assert r["org_id"] == "acme"
        assert r["subject"] == f"patron.acme.{body['type']}"
        assert body["eventId"] == r["event_id"]
        assert body["customerId"] == cid
        assert body["orgCode"] == "acme"
        assert body["by"] == {"code": "acme.till", "type": "TILL"}
        assert r["published_at"] is None
    registered, enrolled, credited = (r["body"] for r in rows)
    assert registered["changes"] == history(client, cid)[0]["changes"]
    assert (enrolled["programId"], enrolled["tierNumber"]) == (1016, 2)
    assert (credited["programId"], credited["points"]) == (1016, 75)


def test_update_writes_updated_event_with_its_changes(client: TestClient) -> None:
    cid = register(client)
    response = update(client, {"profiles": [{"source": "INSTORE", "firstName": "Ravi"}]})
    assert response.status_code == 200, response.text
    rows = outbox(client)
    assert types(rows) == [REGISTERED, UPDATED]
    body = rows[1]["body"]
    entry = history(client, cid)[0]
    assert body["changes"] == entry["changes"]
    assert any(c["new"] == "Ravi" for c in body["changes"])
    assert body["version"] == 2
    assert body["requestId"] == entry["requestId"]
    assert rows[1]["id"] > rows[0]["id"]


def test_update_with_enrolment_and_points_orders_its_events(client: TestClient) -> None:
    register(client)
    response = update(
        client,
        {"loyaltyProgramEnrollments": [{"programId": 2020, "tierNumber": 1, "loyaltyPoints": 5}]},
    )
    assert response.status_code == 200, response.text
    rows = outbox(client)
    assert types(rows) == [REGISTERED, UPDATED, ENROLLED, POINTS_CREDITED]
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert rows[2]["body"]["programId"] == 2020
    assert rows[3]["body"]["points"] == 5


def test_dry_runs_write_no_event(client: TestClient) -> None:
    body = {"profiles": [profile()]}
    assert client.post("/v2/customers?dryRun=true", json=body, headers=ACME_AUTH).status_code == 200
    assert outbox(client) == []
    register(client)
    response = update(
        client, {"profiles": [{"source": "INSTORE", "firstName": "X"}]}, dryRun="true"
    )
    assert response.status_code == 200, response.text
    assert types(outbox(client)) == [REGISTERED]


def test_refused_requests_write_no_event(client: TestClient) -> None:
    refused = client.post(
        "/v2/customers", json={"profiles": [profile(mobile="12")]}, headers=ACME_AUTH
    )
    assert refused.status_code == 400
    register(client)
    again = client.post("/v2/customers", json={"profiles": [profile()]}, headers=ACME_AUTH)
    assert again.status_code == 409  # MOBILE is taken
    bad = update(client, {"extendedFields": {"gender": "Robot"}})
    assert bad.status_code == 400
    assert types(outbox(client)) == [REGISTERED]


def test_update_changing_nothing_writes_no_event(client: TestClient) -> None:
    register(client, profile(firstName="Asha"))
    response = update(client, {"profiles": [{"source": "INSTORE", "firstName": "Asha"}]})
    assert response.status_code == 200, response.text
    assert types(outbox(client)) == [REGISTERED]


def test_idempotent_replay_writes_no_second_event(client: TestClient) -> None:
    headers = {**ACME_AUTH, "Idempotency-Key": "evt-replay-1"}
    body = {"profiles": [profile()]}
    first = client.post("/v2/customers", json=body, headers=headers)
    replay = client.post("/v2/customers", json=body, headers=headers)
    assert first.status_code == replay.status_code == 200
    assert replay.content == first.content
    change = {"profiles": [{"source": "INSTORE", "firstName": "Once"}]}
    key = {**ACME_AUTH, "Idempotency-Key": "evt-replay-2"}
    params = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": MOBILE}
    for _ in range(3):
        response = client.put("/v2/customers/lookup", params=params, json=change, headers=key)
        assert response.status_code == 200, response.text
    assert types(outbox(client)) == [REGISTERED, UPDATED]


class Abort(Exception):
    """Raised on purpose, after a write, to roll its transaction back."""


def _apply_loyalty_change(rollback: bool) -> Any:
    """A unit of work storing a one-change plan for customer `cid`, then maybe rolling back."""

    async def fn(conn: Connection, cid: int) -> None:
        now = datetime.now(UTC)
        stored = await repository.lock_and_load(conn, OrgId("acme"), now=now, customer_id=cid)
        assert stored is not None
        after = stored.clone()
        after.version += 1
        after.loyalty_type = "loyalty" if stored.loyalty_type != "loyalty" else "non_loyalty"
        p = Plan(
            after,
            [Change("loyaltyType", stored.loyalty_type, after.loyalty_type)],
            [],
            [],
            [],
            Writes(),
        )
        await writes.apply(
            conn, OrgId("acme"), p, request_id="r-1", actor=Actor("acme.till"), now=now, new=False
        )
        if rollback:
            raise Abort

    return fn


def test_an_update_rolled_back_leaves_no_event(client: TestClient) -> None:
    cid = register(client)
    before = outbox(client)
    with pytest.raises(Abort):
        run(client, lambda conn: _apply_loyalty_change(True)(conn, cid), write=True)
    assert outbox(client) == before
    assert len(history(client, cid)) == 1
    # The same write committed leaves exactly its event.
    run(client, lambda conn: _apply_loyalty_change(False)(conn, cid), write=True)
    assert types(outbox(client)) == [REGISTERED, UPDATED]


def test_events_of_many_writes_keep_write_order(client: TestClient) -> None:
    ids = [register(client, profile(mobile=f"91999900{n:04d}")) for n in range(5)]
    for n in range(5):
        params = {
            "source": "INSTORE",
            "identifierName": "mobile",
            "identifierValue": f"91999900{n:04d}",
        }
        r = update(client, {"profiles": [{"source": "INSTORE", "lastName": f"L{n}"}]}, params)
        assert r.status_code == 200, r.text
    rows = outbox(client)
    assert [(r["body"]["type"], r["body"]["customerId"]) for r in rows] == [
        *((REGISTERED, cid) for cid in ids),
        *((UPDATED, cid) for cid in ids),
    ]
    assert len({r["event_id"] for r in rows}) == len(rows)


def test_purge_deletes_only_old_published_events(client: TestClient, database_url: str) -> None:
    for n in range(4):
        register(client, profile(mobile=f"91999911{n:04d}"))
    rows = outbox(client)
    old = datetime.now(UTC) - timedelta(days=30)
    recent = datetime.now(UTC) - timedelta(hours=1)
    marks = {rows[0]["id"]: old, rows[1]["id"]: old, rows[2]["id"]: recent}  # rows[3] pending

    async def mark(conn: Connection) -> None:
        for id_, at in marks.items():
            await conn.execute(
                "UPDATE outbox SET published_at = $1 WHERE org_id = 'acme' AND id = $2", at, id_
            )

    run(client, mark, write=True)

    async def purge() -> int:
        db = create_database(database_url)
        await db.open()
        try:
            return await Relay(db, FAST).purge()
        finally:
            await db.close()

    assert asyncio.run(purge()) == 2
    assert [r["id"] for r in outbox(client)] == [rows[2]["id"], rows[3]["id"]]


def test_pending_count_stops_at_its_cap(client: TestClient) -> None:
    register(client, profile(firstName="Asha"), **ENROL_GOLD)  # three events
    register(client, profile(mobile=None, email="cap@example.com"))

    async def counts(conn: Connection) -> tuple[int, int, int]:
        return (
            await outbox_repo.count_pending(conn),
            await outbox_repo.count_pending(conn, cap=2),
            await outbox_repo.count_pending(conn, cap=100),
        )

    assert run(client, counts) == (4, 2, 4)
