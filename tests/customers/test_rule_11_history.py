"""SPEC 6 rule 11: one history entry per changing update; no-op updates write nothing."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.builders import details, history, register, update
from tests.conftest import ACME_AUTH


def test_rule_11_a_change_writes_one_entry_with_paths_old_and_new(client: TestClient) -> None:
    cid = register(client)
    update(client, {"profiles": [{"firstName": "Tom"}], "extendedFields": {"city": "Pune"}})
    response = client.put(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": "919999000001"},
        json={"profiles": [{"firstName": "Thomas"}], "extendedFields": {"city": None}},
        headers={**ACME_AUTH, "X-Request-Id": "req-42"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    entries = history(client, cid)
    assert len(entries) == 3  # registration, first update, this one
    newest = entries[0]
    assert newest["requestId"] == "req-42"
    assert newest["by"] == {"code": "acme.till", "type": "TILL"}
    assert newest["at"].endswith("Z")
    assert newest["changes"] == [
        {"path": "profiles[INSTORE].firstName", "old": "Tom", "new": "Thomas"},
        {"path": "extendedFields.city", "old": "Pune", "new": None},
    ]


def test_rule_11_an_update_that_changes_nothing_writes_nothing(client: TestClient) -> None:
    cid = register(client)
    update(client, {"profiles": [{"firstName": "Tom"}]})
    before = details(client, cid)
    entries = history(client, cid)
    response = update(
        client, {"profiles": [{"firstName": " Tom "}], "fields": {}, "extendedFields": {}}
    )
    assert response.status_code == 200
    assert history(client, cid) == entries
    after = details(client, cid)
    assert after == before  # not even the modification date moved
    assert response.headers["etag"] == f'"{len(entries)}"'


def test_rule_11_history_pages_newest_first_with_a_cursor(client: TestClient) -> None:
    cid = register(client)
    for name in ("a", "b", "c", "d"):
        update(client, {"profiles": [{"firstName": name}]})
    first = client.get(
        f"/v2/customers/{cid}/changes", params={"limit": 2}, headers=ACME_AUTH
    ).json()
    assert [e["changes"][0]["new"] for e in first["data"]] == ["d", "c"]
    second = client.get(
        f"/v2/customers/{cid}/changes",
        params={"limit": 2, "cursor": first["nextCursor"]},
        headers=ACME_AUTH,
    ).json()
    assert [e["changes"][0]["new"] for e in second["data"]] == ["b", "a"]
    third = client.get(
        f"/v2/customers/{cid}/changes",
        params={"limit": 2, "cursor": second["nextCursor"]},
        headers=ACME_AUTH,
    ).json()
    assert len(third["data"]) == 1 and third["nextCursor"] is None


def test_rule_11_history_of_unknown_customer_is_404(client: TestClient) -> None:
    response = client.get("/v2/customers/999999/changes", headers=ACME_AUTH)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 8015
