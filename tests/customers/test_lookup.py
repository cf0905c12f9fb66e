"""SPEC 5.1: lookup parameters, and the lookup and details routes."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.builders import codes, lookup_params, profile, register, the_profile
from tests.conftest import ACME_AUTH

ROUTES = ["/v2/customers/lookup", "/v2/customers/lookup/customerDetails"]


@pytest.mark.parametrize("route", ROUTES)
def test_lookup_finds_by_any_normalised_form(client: TestClient, route: str) -> None:
    cid = register(client)
    for value in ("919999000001", "+91 99990-00001", "9999000001"):
        response = client.get(route, params=lookup_params(value), headers=ACME_AUTH)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["entity"] if route.endswith("lookup") else body["id"]) == cid


def test_lookup_answers_entity_and_warnings(client: TestClient) -> None:
    cid = register(client)
    response = client.get(
        "/v2/customers/lookup", params=lookup_params(source="instore"), headers=ACME_AUTH
    )
    assert response.json() == {"entity": cid, "warnings": []}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"identifierName": "mobile", "identifierValue": "919999000001"}, 8012),
        (lookup_params(source="NOPE"), 8012),
        (lookup_params(source="TMALL"), 8012),
        (lookup_params(source="WECHAT"), 8045),
        (lookup_params(source="WECHAT", account="other"), 8011),
        ({"source": "INSTORE", "identifierValue": "1"}, 8013),
        (lookup_params(name="passport"), 8013),
        ({"source": "INSTORE", "identifierName": "mobile", "identifierValue": " "}, 8013),
    ],
)
@pytest.mark.parametrize("route", ROUTES)
def test_lookup_parameter_rules(
    client: TestClient, route: str, params: dict[str, str], code: int
) -> None:
    response = client.get(route, params=params, headers=ACME_AUTH)
    assert response.status_code == 400
    assert codes(response) == [code]


@pytest.mark.parametrize("route", ROUTES)
def test_lookup_not_found_anywhere_is_8015(client: TestClient, route: str) -> None:
    response = client.get(route, params=lookup_params("919999000009"), headers=ACME_AUTH)
    assert response.status_code == 404
    assert codes(response) == [8015]


@pytest.mark.parametrize("route", ROUTES)
def test_lookup_found_only_in_another_source_is_8065(client: TestClient, route: str) -> None:
    register(client, profile("ECOMMERCE"))
    response = client.get(route, params=lookup_params(), headers=ACME_AUTH)
    assert response.status_code == 404
    assert codes(response) == [8065]


def test_update_lookup_rules_are_the_same(client: TestClient) -> None:
    register(client, profile("ECOMMERCE"))
    response = client.put(
        "/v2/customers/lookup", params=lookup_params(), json={}, headers=ACME_AUTH
    )
    assert response.status_code == 404
    assert codes(response) == [8065]
    response = client.put(
        "/v2/customers/lookup", params=lookup_params(source="ALL"), json={}, headers=ACME_AUTH
    )
    assert response.status_code == 400
    assert codes(response) == [8012]


def test_details_by_lookup_returns_the_profile_asked_for(client: TestClient) -> None:
    register(client, profile(firstName="In"), profile("WECHAT", "wc_main", firstName="Wc"))
    response = client.get(
        "/v2/customers/lookup/customerDetails",
        params=lookup_params(source="WECHAT", account="wc_main"),
        headers=ACME_AUTH,
    )
    body = response.json()
    assert [p["firstName"] for p in body["profiles"]] == ["Wc"]
    assert response.headers["etag"] == '"1"'


def test_details_by_id_with_all_and_with_one_source(client: TestClient) -> None:
    cid = register(client, profile(firstName="In"), profile("WECHAT", "wc_main", firstName="Wc"))
    everything = client.get(
        f"/v2/customers/{cid}", params={"source": "ALL"}, headers=ACME_AUTH
    ).json()
    assert sorted(p["firstName"] for p in everything["profiles"]) == ["In", "Wc"]
    one = client.get(
        f"/v2/customers/{cid}",
        params={"source": "WECHAT", "accountId": "wc_main"},
        headers=ACME_AUTH,
    )
    assert [p["firstName"] for p in one.json()["profiles"]] == ["Wc"]
    none = client.get(f"/v2/customers/{cid}", params={"source": "ECOMMERCE"}, headers=ACME_AUTH)
    assert none.json()["profiles"] == [] and codes(none, "warnings") == [8404]


def test_details_shape(client: TestClient) -> None:
    cid = register(client, profile(firstName="Tom", lastName="Sawyer", fields={"employee": "true"}))
    body = client.get(
        f"/v2/customers/{cid}", params={"source": "INSTORE"}, headers=ACME_AUTH
    ).json()
    assert set(body) >= {
        "id",
        "profiles",
        "loyaltyInfo",
        "extendedFields",
        "loyaltyProgramDetails",
        "warnings",
    }
    p = the_profile(body)
    assert set(p) >= {
        "firstName",
        "lastName",
        "source",
        "accountId",
        "identifiers",
        "commChannels",
        "fields",
        "attribution",
    }
    assert p["attribution"]["createdBy"] == {"code": "acme.till", "type": "TILL"}
    assert p["attribution"]["createDate"].endswith("Z")


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "99999999999999999999999"])
def test_unknown_or_impossible_id_is_8015(client: TestClient, raw: str) -> None:
    response = client.get(f"/v2/customers/{raw}", params={"source": "ALL"}, headers=ACME_AUTH)
    assert response.status_code == 404
    assert codes(response) == [8015]


def test_update_by_id(client: TestClient) -> None:
    cid = register(client)
    response = client.put(
        f"/v2/customers/{cid}",
        params={"source": "INSTORE"},
        json={"profiles": [{"firstName": "Tom"}]},
        headers=ACME_AUTH,
    )
    assert response.status_code == 200, response.text
    assert response.json()["createdId"] == cid
    missing = client.put(
        "/v2/customers/424242", params={"source": "INSTORE"}, json={}, headers=ACME_AUTH
    )
    assert missing.status_code == 404 and codes(missing) == [8015]
    no_source = client.put(f"/v2/customers/{cid}", json={}, headers=ACME_AUTH)
    assert no_source.status_code == 400 and codes(no_source) == [8012]
