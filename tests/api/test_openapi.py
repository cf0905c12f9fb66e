"""The OpenAPI document describes the real shapes, camelCase, with error responses."""

from __future__ import annotations

from starlette.testclient import TestClient


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
