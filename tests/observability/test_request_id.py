"""X-Request-Id: accepted when plain, generated otherwise, returned, and recorded in history."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.builders import history, profile, update
from tests.conftest import ACME_AUTH

GENERATED = re.compile(r"^[0-9a-f]{32}$")


def test_a_given_request_id_is_returned_and_recorded_in_history(client: TestClient) -> None:
    response = client.post(
        "/v2/customers",
        json={"profiles": [profile()]},
        headers={**ACME_AUTH, "X-Request-Id": "till-7:order.42"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "till-7:order.42"
    cid = response.json()["createdId"]
    assert [e["requestId"] for e in history(client, cid)] == ["till-7:order.42"]


def test_without_one_an_id_is_generated_returned_and_recorded(client: TestClient) -> None:
    created = client.post("/v2/customers", json={"profiles": [profile()]}, headers=ACME_AUTH)
    changed = update(client, {"extendedFields": {"city": "Pune"}})
    assert changed.status_code == 200
    ids = [created.headers["x-request-id"], changed.headers["x-request-id"]]
    assert all(GENERATED.match(i) for i in ids)
    assert ids[0] != ids[1]
    entries = history(client, created.json()["createdId"])
    assert [e["requestId"] for e in entries] == ids[::-1]  # newest first


def test_an_unsafe_request_id_is_replaced(client: TestClient) -> None:
    for unsafe in ("has space", "x" * 129, "semi;colon", ""):
        response = client.get("/healthz", headers={"X-Request-Id": unsafe})
        assert GENERATED.match(response.headers["x-request-id"]), unsafe


def test_error_responses_carry_the_request_id(client: TestClient) -> None:
    response = client.get("/v2/customers/1", headers={"X-Request-Id": "denied-1"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "denied-1"
