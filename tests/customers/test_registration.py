"""SPEC 5.0: registration."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.builders import codes, details, fields_of, history, profile, register, the_profile
from tests.conftest import ACME_AUTH, table_counts


def test_register_returns_id_and_stores_everything(client: TestClient) -> None:
    body = {
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "profiles": [
            {
                "source": "WECHAT",
                "accountId": "wc_main",
                "firstName": "Tom",
                "lastName": "Sawyer",
                "identifiers": [
                    {"type": "mobile", "value": "+91 99990-00001"},
                    {"type": "email", "value": "Tom@Example.com"},
                ],
                "commChannels": [
                    {
                        "type": "email",
                        "value": "tom@example.com",
                        "primary": True,
                        "meta": {"residence": True},
                    }
                ],
                "fields": {"employee": "true"},
            }
        ],
        "extendedFields": {"gender": "Male", "city": "Bangalore"},
        "loyaltyProgramEnrollments": [{"programId": 1016, "tierNumber": 2, "loyaltyPoints": 75}],
    }
    response = client.post("/v2/customers", json=body, headers=ACME_AUTH)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["warnings"] == []
    assert out["sideEffects"] == [{"type": "points", "awardedPoints": 75, "programId": 1016}]
    data = details(client, out["createdId"])
    assert data["id"] == out["createdId"]
    p = the_profile(data, "WECHAT", "wc_main")
    assert p["identifiers"] == [
        {"type": "mobile", "value": "919999000001"},
        {"type": "email", "value": "tom@example.com"},
    ]
    assert p["commChannels"][0]["primary"] is True
    assert p["fields"] == {"employee": "true"}
    assert data["extendedFields"] == {"gender": "Male", "city": "Bangalore"}
    assert data["loyaltyInfo"] == {"loyaltyType": "loyalty"}
    assert data["loyaltyProgramDetails"][0]["loyaltyPoints"] == 75
    assert len(history(client, out["createdId"])) == 1


def test_register_defaults_to_non_loyalty_without_enrolment(client: TestClient) -> None:
    cid = register(client)
    data = details(client, cid)
    assert data["loyaltyInfo"] == {"loyaltyType": "non_loyalty"}
    assert data["loyaltyProgramDetails"] == []


def test_register_ids_are_distinct(client: TestClient) -> None:
    a = register(client)
    b = register(client, profile(mobile="919999000002"))
    assert a != b


def test_register_needs_a_profile_with_an_identifier(client: TestClient) -> None:
    for body in ({}, {"profiles": []}, {"profiles": [{"source": "INSTORE", "firstName": "x"}]}):
        response = client.post("/v2/customers", json=body, headers=ACME_AUTH)
        assert response.status_code == 400, body
        assert 8131 in codes(response)


def test_register_profile_needs_a_source(client: TestClient) -> None:
    response = client.post(
        "/v2/customers",
        json={"profiles": [{"identifiers": [{"type": "mobile", "value": "919999000001"}]}]},
        headers=ACME_AUTH,
    )
    assert response.status_code == 400
    assert codes(response) == [8012]
    assert fields_of(response) == ["profiles[0].source"]


def test_register_identifier_held_in_same_source_is_8008(client: TestClient) -> None:
    register(client)
    counts = table_counts(client)
    response = client.post("/v2/customers", json={"profiles": [profile()]}, headers=ACME_AUTH)
    assert response.status_code == 409
    assert codes(response) == [8008]
    assert table_counts(client) == counts


def test_register_identifier_held_in_other_source_is_8053(client: TestClient) -> None:
    register(client)
    response = client.post(
        "/v2/customers", json={"profiles": [profile("ECOMMERCE")]}, headers=ACME_AUTH
    )
    assert response.status_code == 409
    assert codes(response) == [8053]


def test_register_reuses_update_validators(client: TestClient) -> None:
    body = {
        "profiles": [
            profile(commChannels=[{"type": "fax", "value": "1"}], fields={"shoe_size": "big"})
        ],
        "extendedFields": {"children": "many"},
        "loyaltyType": "vip",
    }
    response = client.post("/v2/customers", json=body, headers=ACME_AUTH)
    assert response.status_code == 400
    assert sorted(codes(response)) == [8010, 8120, 8141, 8141]


def test_register_dry_run_stores_nothing(client: TestClient) -> None:
    counts = table_counts(client)
    response = client.post(
        "/v2/customers",
        params={"dryRun": "true"},
        json={"profiles": [profile()]},
        headers=ACME_AUTH,
    )
    assert response.status_code == 200
    assert response.json()["createdId"] is None
    assert {
        "path": "profiles[INSTORE]",
        "old": None,
        "new": {"source": "INSTORE", "accountId": None},
    } in response.json()["changes"]
    assert table_counts(client) == counts
