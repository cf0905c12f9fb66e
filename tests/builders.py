"""Small builders for customer API calls, so tests read as the rules they check."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

from tests.conftest import ACME_AUTH

MOBILE = "919999000001"


def lookup_params(
    value: str = MOBILE,
    name: str = "mobile",
    source: str = "INSTORE",
    account: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """Query parameters of a lookup route."""
    params = {"source": source, "identifierName": name, "identifierValue": value, **extra}
    if account is not None:
        params["accountId"] = account
    return params


def profile(
    source: str = "INSTORE",
    account: str | None = None,
    mobile: str | None = MOBILE,
    email: str | None = None,
    **keys: Any,
) -> dict[str, Any]:
    """A profile entry of a registration body."""
    identifiers = []
    if mobile:
        identifiers.append({"type": "mobile", "value": mobile})
    if email:
        identifiers.append({"type": "email", "value": email})
    entry: dict[str, Any] = {"source": source, "identifiers": identifiers, **keys}
    if account is not None:
        entry["accountId"] = account
    return entry


def register(
    client: TestClient, *profiles: dict[str, Any], auth: dict[str, str] = ACME_AUTH, **body: Any
) -> int:
    """Register a customer (default: an INSTORE profile with MOBILE) and return its id."""
    payload = {"profiles": list(profiles) or [profile()], **body}
    response = client.post("/v2/customers", json=payload, headers=auth)
    assert response.status_code == 200, response.text
    return int(response.json()["createdId"])


def update(
    client: TestClient,
    body: Any,
    params: dict[str, str] | None = None,
    auth: dict[str, str] = ACME_AUTH,
    **extra: str,
) -> httpx.Response:
    """PUT /v2/customers/lookup (default lookup: INSTORE mobile MOBILE)."""
    query = {**(params or lookup_params()), **extra}
    return client.put("/v2/customers/lookup", params=query, json=body, headers=auth)


def details(
    client: TestClient,
    customer_id: int,
    source: str = "ALL",
    auth: dict[str, str] = ACME_AUTH,
    **params: str,
) -> dict[str, Any]:
    """GET /v2/customers/{id} (default: every profile)."""
    response = client.get(
        f"/v2/customers/{customer_id}", params={"source": source, **params}, headers=auth
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def the_profile(
    data: dict[str, Any], source: str = "INSTORE", account: str | None = None
) -> dict[str, Any]:
    """The profile of `source`/`account` in customer details."""
    for p in data["profiles"]:
        if p["source"] == source and p["accountId"] == account:
            return dict(p)
    raise AssertionError(f"no {source}/{account} profile in {data['profiles']}")


def history(
    client: TestClient, customer_id: int, auth: dict[str, str] = ACME_AUTH
) -> list[dict[str, Any]]:
    """Every history entry of a customer, newest first."""
    response = client.get(
        f"/v2/customers/{customer_id}/changes", params={"limit": 100}, headers=auth
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def codes(response: httpx.Response, key: str = "errors") -> list[int]:
    """The catalogue codes of a response's errors (or warnings)."""
    return [item["code"] for item in response.json()[key]]


def fields_of(response: httpx.Response, key: str = "errors") -> list[str | None]:
    """The field paths of a response's errors (or warnings)."""
    return [item.get("field") for item in response.json()[key]]


def change_identifier(
    client: TestClient,
    customer_id: int,
    body: Any,
    source: str | None = "INSTORE",
    auth: dict[str, str] = ACME_AUTH,
    headers: dict[str, str] | None = None,
    **params: str,
) -> httpx.Response:
    """POST /v2/customers/{id}/changeIdentifier (default profile: INSTORE)."""
    query = {**({"source": source} if source is not None else {}), **params}
    return client.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        params=query,
        json=body,
        headers={**auth, **(headers or {})},
    )


def ident(type_: str, value: str) -> dict[str, str]:
    """An identifier entry: `{"type", "value"}`."""
    return {"type": type_, "value": value}
