"""SPEC 6 rule 9: all or nothing, with every error reported."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.builders import codes, details, register, update
from tests.conftest import table_counts


def test_rule_09_one_error_stores_nothing_of_the_request(client: TestClient) -> None:
    cid = register(client)
    before = details(client, cid)
    counts = table_counts(client)
    body = {
        "profiles": [
            {
                "firstName": "Tom",
                "identifiers": [{"type": "email", "value": "tom@example.com"}],
                "fields": {"employee": "true"},
            }
        ],
        "extendedFields": {"city": "Pune"},
        "commChannels": [{"type": "email", "value": "tom@example.com"}],
        "loyaltyProgramEnrollments": [
            {"programId": 1016, "loyaltyPoints": 50},
            {"programId": 4242},
        ],
    }
    response = update(client, body)
    assert response.status_code == 400
    assert codes(response) == [8150]
    assert table_counts(client) == counts
    assert details(client, cid) == before


def test_rule_09_every_error_is_reported_together(client: TestClient) -> None:
    register(client)
    body = {
        "loyaltyType": "platinum",
        "profiles": [{"identifiers": [{"type": "mobile", "value": "1"}], "firstName": "x" * 101}],
        "commChannels": [{"type": "pager", "value": "1"}],
        "extendedFields": {"children": "many"},
        "loyaltyProgramEnrollments": [{"programId": 1}],
    }
    response = update(client, body)
    assert response.status_code == 400
    assert sorted(codes(response)) == [8010, 8056, 8103, 8120, 8141, 8150]


def test_rule_09_a_valid_request_applies_everything(client: TestClient) -> None:
    cid = register(client)
    body = {
        "profiles": [
            {"firstName": "Tom", "identifiers": [{"type": "email", "value": "tom@example.com"}]}
        ],
        "extendedFields": {"city": "Pune"},
        "loyaltyProgramEnrollments": [{"programId": 1016, "loyaltyPoints": 50}],
    }
    assert update(client, body).status_code == 200
    data = details(client, cid)
    assert data["profiles"][0]["firstName"] == "Tom"
    assert data["extendedFields"] == {"city": "Pune"}
    assert data["loyaltyProgramDetails"][0]["loyaltyPoints"] == 50
