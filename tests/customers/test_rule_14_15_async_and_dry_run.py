"""SPEC 6 rules 14 (use_async) and 15 (dry run)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.builders import codes, details, history, register, update
from tests.conftest import table_counts


def test_rule_14_use_async_true_is_accepted(client: TestClient) -> None:
    cid = register(client)
    response = update(client, {"profiles": [{"firstName": "Tom"}]}, use_async="true")
    assert response.status_code == 200
    assert response.json()["createdId"] == cid
    assert details(client, cid)["profiles"][0]["firstName"] == "Tom"


def test_rule_14_use_async_with_a_non_boolean_is_refused(client: TestClient) -> None:
    register(client)
    response = update(client, {"profiles": [{"firstName": "Tom"}]}, use_async="soon")
    assert response.status_code == 400
    assert codes(response) == [8107]


def test_rule_15_dry_run_answers_like_the_real_run_and_stores_nothing(client: TestClient) -> None:
    cid = register(client)
    counts = table_counts(client)
    before = details(client, cid)
    body = {
        "profiles": [{"firstName": "Tom"}],
        "extendedFields": {"city": "Pune"},
        "loyaltyProgramEnrollments": [{"programId": 1016, "loyaltyPoints": 75}],
        "unknownKey": 1,
    }
    dry = update(client, body, dryRun="true")
    assert dry.status_code == 200, dry.text
    assert table_counts(client) == counts
    assert details(client, cid) == before
    real = update(client, body)
    assert real.status_code == 200
    dry_body = dry.json()
    changes = dry_body.pop("changes")
    assert dry_body == real.json()
    assert changes == history(client, cid)[0]["changes"]
    assert {"path": "extendedFields.city", "old": None, "new": "Pune"} in changes


def test_rule_15_dry_run_reports_the_same_errors(client: TestClient) -> None:
    register(client)
    body = {"loyaltyProgramEnrollments": [{"programId": 77}]}
    dry = update(client, body, dryRun="true")
    real = update(client, body)
    assert dry.status_code == real.status_code == 400
    assert dry.json() == real.json()
