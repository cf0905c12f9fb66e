"""SPEC 6 rule 4: identifiers are added, never removed or replaced; held ones are 409."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.builders import (
    codes,
    details,
    fields_of,
    history,
    lookup_params,
    profile,
    register,
    the_profile,
    update,
)
from tests.conftest import ACME_AUTH, table_counts


def test_rule_04_identifier_is_added_and_found(client: TestClient) -> None:
    cid = register(client)
    response = update(
        client, {"profiles": [{"identifiers": [{"type": "email", "value": " Tom@Example.com "}]}]}
    )
    assert response.status_code == 200, response.text
    assert the_profile(details(client, cid))["identifiers"] == [
        {"type": "mobile", "value": "919999000001"},
        {"type": "email", "value": "tom@example.com"},
    ]
    found = client.get(
        "/v2/customers/lookup", params=lookup_params("TOM@example.com", "email"), headers=ACME_AUTH
    )
    assert found.json()["entity"] == cid


def test_rule_04_a_second_value_of_a_type_is_added_not_replacing(client: TestClient) -> None:
    cid = register(client)
    response = update(
        client, {"profiles": [{"identifiers": [{"type": "mobile", "value": "+91 99990 00002"}]}]}
    )
    assert response.status_code == 200
    values = [i["value"] for i in the_profile(details(client, cid))["identifiers"]]
    assert values == ["919999000001", "919999000002"]


def test_rule_04_identifier_already_on_profile_changes_nothing(client: TestClient) -> None:
    cid = register(client)
    entries = len(history(client, cid))
    response = update(
        client, {"profiles": [{"identifiers": [{"type": "mobile", "value": 9999000001}]}]}
    )
    assert response.status_code == 200
    assert len(history(client, cid)) == entries


def test_rule_04_held_in_same_source_is_8008(client: TestClient) -> None:
    register(client)
    register(client, profile(mobile="919999000002"))
    counts = table_counts(client)
    response = update(
        client, {"profiles": [{"identifiers": [{"type": "mobile", "value": "919999000002"}]}]}
    )
    assert response.status_code == 409
    assert codes(response) == [8008]
    assert fields_of(response) == ["profiles[0].identifiers[0].value"]
    assert table_counts(client) == counts


def test_rule_04_held_in_another_source_is_8053(client: TestClient) -> None:
    register(client)
    register(client, profile("ECOMMERCE", mobile=None, email="jane@example.com"))
    response = update(
        client, {"profiles": [{"identifiers": [{"type": "email", "value": "jane@example.com"}]}]}
    )
    assert response.status_code == 409
    assert codes(response) == [8053]


def test_rule_04_same_customer_may_hold_it_in_two_sources(client: TestClient) -> None:
    cid = register(client)
    body = {
        "profiles": [
            {"source": "ECOMMERCE", "identifiers": [{"type": "mobile", "value": "919999000001"}]}
        ]
    }
    response = update(client, body)
    assert response.status_code == 200, response.text
    assert (
        the_profile(details(client, cid), "ECOMMERCE")["identifiers"][0]["value"] == "919999000001"
    )


def test_rule_04_invalid_values_are_refused_with_their_codes(client: TestClient) -> None:
    register(client)
    body = {
        "profiles": [
            {
                "identifiers": [
                    {"type": "mobile", "value": "12"},
                    {"type": "email", "value": "not-an-email"},
                    {"type": "externalId", "value": "   "},
                    {"type": "passport", "value": "X1"},
                    {"type": "cardnumber", "value": 1.5},
                ]
            }
        ]
    }
    response = update(client, body)
    assert response.status_code == 400
    assert sorted(codes(response)) == [8101]  # shape first: 1.5 is neither a string nor an integer
    body["profiles"][0]["identifiers"].pop()
    response = update(client, body)
    assert codes(response) == [8056, 8055, 8132, 8013]
    assert fields_of(response) == [
        "profiles[0].identifiers[0].value",
        "profiles[0].identifiers[1].value",
        "profiles[0].identifiers[2].value",
        "profiles[0].identifiers[3].type",
    ]
