"""The OpenAPI document describes the real shapes, camelCase, with error responses."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema_rs import Draft202012Validator
from starlette.testclient import TestClient

from tests.builders import MOBILE
from tests.conftest import ACME_AUTH


def test_openapi_describes_update_body_and_errors(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    put = doc["paths"]["/v2/customers/lookup"]["put"]
    ref = put["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schemas = doc["components"]["schemas"]
    body = schemas[ref.rsplit("/", 1)[1]]
    assert {
        "loyaltyType",
        "loyaltyInfo",
        "profiles",
        "commChannels",
        "fields",
        "extendedFields",
        "loyaltyProgramEnrollments",
    } <= set(body["properties"])
    assert "accountId" in schemas["ProfileIn"]["properties"]
    assert "lastViewedDate" in schemas["ChannelIn"]["properties"]
    assert {"400", "401", "404", "409", "413", "415"} <= set(put["responses"])
    error = put["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/ErrorBody")
    params = {p["name"] for p in put["parameters"]}
    assert {
        "source",
        "accountId",
        "identifierName",
        "identifierValue",
        "dryRun",
        "use_async",
    } <= params


def test_every_customer_route_is_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/v2/customers"]) == {"post"}
    assert set(paths["/v2/customers/lookup"]) == {"get", "put"}
    assert set(paths["/v2/customers/{customer_id}"]) == {"get", "put"}
    assert "get" in paths["/v2/customers/lookup/customerDetails"]
    assert "get" in paths["/v2/customers/{customer_id}/changes"]
    for points_route in (
        "/v2/customers/{customer_id}/loyaltyDetails",
        "/v2/customers/lookup/loyaltyDetails",
        "/v2/customers/{customer_id}/pointsExpirySchedule",
    ):
        assert set(paths[points_route]) == {"get"}
    for consent_route in (
        "/v2/customers/{customer_id}/subscriptions",
        "/v2/customers/lookup/subscriptions",
    ):
        assert set(paths[consent_route]) == {"get", "post"}
    assert "post" in paths["/v3/oauth/token/generate"]
    assert {"get", "put"} <= set(paths["/admin/orgs/{orgCode}"])


def test_docs_page_is_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200


LOOKUP_OPERATIONS = [
    ("get", "/v2/customers/lookup"),
    ("put", "/v2/customers/lookup"),
    ("get", "/v2/customers/lookup/customerDetails"),
    ("get", "/v2/customers/lookup/loyaltyDetails"),
    ("get", "/v2/customers/lookup/subscriptions"),
    ("post", "/v2/customers/lookup/subscriptions"),
]


@pytest.mark.parametrize(("method", "path"), LOOKUP_OPERATIONS)
def test_the_lookup_parameters_are_declared_required(
    client: TestClient, method: str, path: str
) -> None:
    """What the route refuses without (8012, 8013) is what the document calls required."""
    operation = client.get("/openapi.json").json()["paths"][path][method]
    required = {p["name"] for p in operation["parameters"] if p["required"]}
    assert {"source", "identifierName", "identifierValue"} <= required
    assert "accountId" not in required  # only sources with accounts need it: the org's rule
    response = client.request(method.upper(), path, headers=ACME_AUTH, json={})
    assert response.status_code == 400
    # The query's problems come first; a write's empty body may add its own after them.
    assert [(e["code"], e["field"]) for e in response.json()["errors"]][:3] == [
        (8012, "source"),
        (8013, "identifierName"),
        (8013, "identifierValue"),
    ]


def test_an_update_by_id_declares_its_source_required(client: TestClient) -> None:
    """The profile a write by id names with `source` (an update, changeIdentifier) is required."""
    doc_paths = client.get("/openapi.json").json()["paths"]
    operation = doc_paths["/v2/customers/{customer_id}"]
    query = {
        m: [p for p in operation[m]["parameters"] if p["in"] == "query"] for m in ("get", "put")
    }
    assert [p["name"] for p in query["put"] if p["required"]] == ["source"]
    change = doc_paths["/v2/customers/{customer_id}/changeIdentifier"]["post"]["parameters"]
    assert [p["name"] for p in change if p["in"] == "query" and p["required"]] == ["source"]
    assert not [p for p in query["get"] if p["required"]]


def _validator(doc: dict[str, Any], name: str) -> Draft202012Validator:
    """A validator of the document's component `name`, its references resolved in the document."""
    schema = {**doc["components"]["schemas"][name], "components": doc["components"]}
    return Draft202012Validator(schema)


def test_the_registration_body_declares_a_profile_with_an_identifier(client: TestClient) -> None:
    """`{}` and profiles without an identifier or a source break the schema, as the route refuses."""
    doc = client.get("/openapi.json").json()
    body = _validator(doc, "CustomerRegisterIn")
    refused = [
        {},
        {"profiles": []},
        {"profiles": [{"source": "INSTORE", "firstName": "Tom"}]},
        {"profiles": [{"source": "INSTORE", "identifiers": []}]},
        {"profiles": [{"identifiers": [{"type": "mobile", "value": MOBILE}]}]},
    ]
    for sent in refused:
        assert not body.is_valid(sent), sent
        response = client.post("/v2/customers", json=sent, headers=ACME_AUTH)
        assert response.status_code == 400, (sent, response.text)
    example = doc["components"]["schemas"]["CustomerRegisterIn"]["examples"][0]
    accepted = [
        example,
        {
            "profiles": [
                {"source": "ECOMMERCE", "firstName": "Ann"},
                {"source": "INSTORE", "identifiers": [{"type": "email", "value": "a@b.example"}]},
            ]
        },
    ]
    for sent in accepted:
        assert body.is_valid(sent), sent
        response = client.post("/v2/customers", json=sent, headers=ACME_AUTH)
        assert response.status_code == 200, (sent, response.text)


def test_every_405_names_the_methods_of_its_path(client: TestClient) -> None:
    """RFC 9110: a 405 carries Allow, here with every method the document declares for the path."""
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        url = path.replace("{customer_id}", "1").replace("{orgCode}", "acme")
        for method in ("TRACE", "DELETE", "PATCH"):
            response = client.request(method, url, headers=ACME_AUTH)
            assert response.status_code == 405, (method, path)
            declared = {m.upper() for m in operations} | (
                {"HEAD"} if "get" in operations else set()
            )
            allowed = {m.strip() for m in response.headers["Allow"].split(",")}
            assert allowed == declared, (method, path, response.headers["Allow"])
            assert [e["code"] for e in response.json()["errors"]] == [8112]


def test_the_lookup_links_to_every_route_of_the_customer(client: TestClient) -> None:
    """Stateful clients (and testing) go from the lookup's `entity` to each id route."""
    doc = client.get("/openapi.json").json()
    links = doc["paths"]["/v2/customers/lookup"]["get"]["responses"]["200"]["links"]
    id_operations = {
        f"{method} {path}"
        for path, operations in doc["paths"].items()
        if path.startswith("/v2/customers/{customer_id}")
        for method in operations
    }
    assert len(id_operations) >= 5
    targets = set()
    for link in links.values():
        assert link["parameters"] == {"customer_id": "$response.body#/entity"}
        pointer = link["operationRef"].removeprefix("#/paths/")
        path, method = pointer.rsplit("/", 1)
        path = path.replace("~1", "/").replace("~0", "~")
        assert method in doc["paths"][path]
        targets.add(f"{method} {path}")
    assert targets == id_operations


def test_consent_routes_declare_their_body_and_headers(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path in ("/v2/customers/{customer_id}/subscriptions", "/v2/customers/lookup/subscriptions"):
        post = doc["paths"][path]["post"]
        body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert body.endswith("/ConsentIn")
        params = {p["name"] for p in post["parameters"]}
        assert {"dryRun", "Idempotency-Key", "If-Match"} <= params
        assert {"200", "412"} <= set(post["responses"])
    lookup = doc["paths"]["/v2/customers/lookup/subscriptions"]["get"]
    assert {"source", "identifierName", "identifierValue"} <= {
        p["name"] for p in lookup["parameters"]
    }
    consent = doc["components"]["schemas"]["ConsentIn"]
    assert consent["required"] == ["subscriptions"]
    entry = doc["components"]["schemas"]["SubscriptionIn"]
    assert set(entry["required"]) == {"channel", "priority", "type"}
