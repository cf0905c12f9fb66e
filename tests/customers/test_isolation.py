"""SPEC 4: a till sees only its own org; another org's customer is simply not found."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.builders import codes, lookup_params, register
from tests.conftest import GLOBEX_AUTH, table_counts


def test_another_orgs_customer_is_not_found_on_every_route(client: TestClient) -> None:
    cid = register(client)  # an ACME customer
    counts = table_counts(client)
    attempts = [
        client.get("/v2/customers/lookup", params=lookup_params(), headers=GLOBEX_AUTH),
        client.get(
            "/v2/customers/lookup/customerDetails", params=lookup_params(), headers=GLOBEX_AUTH
        ),
        client.get(f"/v2/customers/{cid}", params={"source": "ALL"}, headers=GLOBEX_AUTH),
        client.get(f"/v2/customers/{cid}/changes", headers=GLOBEX_AUTH),
        client.put(
            "/v2/customers/lookup",
            params=lookup_params(),
            json={"profiles": [{"firstName": "X"}]},
            headers=GLOBEX_AUTH,
        ),
        client.put(
            f"/v2/customers/{cid}",
            params={"source": "INSTORE"},
            json={"profiles": [{"firstName": "X"}]},
            headers=GLOBEX_AUTH,
        ),
    ]
    for response in attempts:
        assert response.status_code == 404, response.text
        assert codes(response) == [8015]
    missing = client.get("/v2/customers/987654321", params={"source": "ALL"}, headers=GLOBEX_AUTH)
    assert attempts[2].json() == missing.json()  # no hint that the id exists elsewhere
    assert table_counts(client) == counts


def test_same_identifier_in_two_orgs_is_two_customers(client: TestClient) -> None:
    acme = register(client)
    globex = register(
        client,
        {"source": "INSTORE", "identifiers": [{"type": "mobile", "value": "+919999000001"}]},
        auth=GLOBEX_AUTH,
    )
    assert acme != globex
    found = client.get("/v2/customers/lookup", params=lookup_params(), headers=GLOBEX_AUTH).json()
    assert found["entity"] == globex


def test_program_ids_belong_to_their_org(client: TestClient) -> None:
    register(
        client,
        {"source": "INSTORE", "identifiers": [{"type": "mobile", "value": "+919999000001"}]},
        auth=GLOBEX_AUTH,
    )
    response = client.put(
        "/v2/customers/lookup",
        params=lookup_params(),
        json={"loyaltyProgramEnrollments": [{"programId": 1016, "tierNumber": 2}]},
        headers=GLOBEX_AUTH,
    )
    assert response.status_code == 400  # Globex's 1016 has only tier 1
    assert codes(response) == [8151]


def test_requests_without_credentials_are_401(client: TestClient) -> None:
    for response in (
        client.get("/v2/customers/lookup", params=lookup_params()),
        client.post("/v2/customers", json={}),
        client.put("/v2/customers/lookup", params=lookup_params(), json={}),
        client.get("/v2/customers/1/changes"),
    ):
        assert response.status_code == 401
        assert codes(response) == [8110]
