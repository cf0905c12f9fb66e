"""SPEC 6 rule 1: loyalty type transitions."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.builders import codes, details, history, register, update
from tests.conftest import table_counts


def test_rule_01_non_loyalty_to_loyalty_is_allowed(client: TestClient) -> None:
    cid = register(client)
    response = update(client, {"loyaltyType": "loyalty"})
    assert response.status_code == 200, response.text
    assert details(client, cid)["loyaltyInfo"] == {"loyaltyType": "loyalty"}


def test_rule_01_loyalty_to_non_loyalty_is_refused(client: TestClient) -> None:
    cid = register(client, loyaltyType="loyalty")
    response = update(client, {"loyaltyType": "non_loyalty"})
    assert response.status_code == 400
    assert codes(response) == [8121]
    assert details(client, cid)["loyaltyInfo"]["loyaltyType"] == "loyalty"


def test_rule_01_same_value_again_changes_nothing(client: TestClient) -> None:
    cid = register(client, loyaltyType="loyalty")
    before = details(client, cid)
    entries = len(history(client, cid))
    response = update(client, {"loyaltyInfo": {"loyaltyType": "loyalty"}})
    assert response.status_code == 200
    assert len(history(client, cid)) == entries
    assert details(client, cid) == before


def test_rule_01_unknown_value_is_refused(client: TestClient) -> None:
    register(client)
    response = update(client, {"loyaltyType": "gold"})
    assert response.status_code == 400
    assert codes(response) == [8120]
    assert response.json()["errors"][0]["field"] == "loyaltyType"


def test_rule_01_two_places_that_differ_are_refused(client: TestClient) -> None:
    cid = register(client)
    counts = table_counts(client)
    response = update(
        client, {"loyaltyType": "loyalty", "loyaltyInfo": {"loyaltyType": "non_loyalty"}}
    )
    assert response.status_code == 400
    assert codes(response) == [8122]
    assert table_counts(client) == counts
    assert details(client, cid)["loyaltyInfo"]["loyaltyType"] == "non_loyalty"


def test_rule_01_two_places_that_agree_are_accepted(client: TestClient) -> None:
    cid = register(client)
    response = update(client, {"loyaltyType": "loyalty", "loyaltyInfo": {"loyaltyType": "loyalty"}})
    assert response.status_code == 200
    assert details(client, cid)["loyaltyInfo"]["loyaltyType"] == "loyalty"
