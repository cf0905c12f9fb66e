"""Helpers of the consent tests (SPEC 10.2): read and change a customer's subscriptions."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

from tests.conftest import ACME_AUTH

DEFAULTS = [
    {"channel": "SMS", "priority": "TRANS", "type": "OPTIN"},
    {"channel": "SMS", "priority": "BULK", "type": "OPTIN"},
    {"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN"},
    {"channel": "EMAIL", "priority": "BULK", "type": "OPTIN"},
]
"""What a customer nobody recorded consent for has, under ACME's (absent) defaults."""


def sub(channel: str, priority: str, type_: str, **keys: Any) -> dict[str, Any]:
    """One entry of a consent body."""
    return {"channel": channel, "priority": priority, "type": type_, **keys}


def post(
    client: TestClient,
    customer_id: int | str,
    body: Any,
    auth: dict[str, str] = ACME_AUTH,
    headers: dict[str, str] | None = None,
    **params: str,
) -> httpx.Response:
    """POST /v2/customers/{id}/subscriptions."""
    return client.post(
        f"/v2/customers/{customer_id}/subscriptions",
        json=body,
        params=params,
        headers={**auth, **(headers or {})},
    )


def states(
    client: TestClient, customer_id: int | str, auth: dict[str, str] = ACME_AUTH
) -> list[dict[str, str]]:
    """The subscriptions GET /v2/customers/{id}/subscriptions lists."""
    response = client.get(f"/v2/customers/{customer_id}/subscriptions", headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["campaignId"] == 0 and body["communicationId"] == 0 and body["warnings"] == []
    return list(body["subscriptions"])


def with_state(
    listed: list[dict[str, str]], channel: str, priority: str, type_: str
) -> list[dict[str, str]]:
    """`listed` with one pair's state replaced (or added at the end)."""
    out = [dict(s) for s in listed]
    for s in out:
        if s["channel"] == channel and s["priority"] == priority:
            s["type"] = type_
            return out
    return [*out, {"channel": channel, "priority": priority, "type": type_}]
