"""The OpenAPI document declares changeIdentifier like the other write routes."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_openapi_declares_change_identifier_body_and_parameters(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    post = doc["paths"]["/v2/customers/{customer_id}/changeIdentifier"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(body["properties"]) == {"add", "remove"}
    for name in ("add", "remove"):
        listed = next(s for s in body["properties"][name]["anyOf"] if s.get("type") == "array")
        assert listed["maxItems"] == 50
        assert listed["items"]["$ref"].endswith("/IdentifierIn")
    params = {p["name"] for p in post["parameters"]}
    assert {
        "customer_id",
        "source",
        "accountId",
        "dryRun",
        "use_async",
        "Idempotency-Key",
        "If-Match",
    } <= params
    assert {"200", "400", "404", "409", "412"} <= set(post["responses"])
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/WriteOut")
