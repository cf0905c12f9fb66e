"""SPEC 8: limits on what one request may carry."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from tests.builders import codes, fields_of, lookup_params, register
from tests.conftest import ACME_AUTH


def _put(client: TestClient, body: dict[str, Any]) -> Any:
    return client.put("/v2/customers/lookup", params=lookup_params(), json=body, headers=ACME_AUTH)


def _put_raw(client: TestClient, body: bytes) -> Any:
    headers = {**ACME_AUTH, "Content-Type": "application/json"}
    return client.put("/v2/customers/lookup", params=lookup_params(), content=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"profiles": [{"source": "INSTORE"}] * 21}, "profiles"),
        (
            {
                "profiles": [
                    {"identifiers": [{"type": "externalId", "value": str(i)} for i in range(51)]}
                ]
            },
            "profiles[0].identifiers",
        ),
        (
            {"commChannels": [{"type": "wechat", "value": str(i)} for i in range(51)]},
            "commChannels",
        ),
        ({"fields": {f"k{i}": "v" for i in range(101)}}, "fields"),
        ({"extendedFields": {f"k{i}": "v" for i in range(101)}}, "extendedFields"),
    ],
)
def test_counts_past_the_limit_are_8104(
    client: TestClient, body: dict[str, Any], path: str
) -> None:
    register(client)
    response = _put(client, body)
    assert response.status_code == 400
    assert codes(response) == [8104]
    assert fields_of(response) == [path]


def test_counts_at_the_limit_are_accepted(client: TestClient) -> None:
    register(client)
    body = {
        "profiles": [
            {
                "identifiers": [{"type": "externalId", "value": f"e{i}"} for i in range(50)],
                "commChannels": [{"type": "wechat", "value": f"w{i}"} for i in range(50)],
            }
        ]
    }
    response = _put(client, body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"loyaltyType": "x" * 1025}, "loyaltyType"),
        ({"profiles": [{"source": "x" * 1025}]}, "profiles[0].source"),
        (
            {"commChannels": [{"type": "wechat", "value": "w", "meta": {"note": "x" * 1025}}]},
            "commChannels[0].meta.note",
        ),
    ],
)
def test_strings_longer_than_1024_are_8103(
    client: TestClient, body: dict[str, Any], path: str
) -> None:
    register(client)
    response = _put(client, body)
    assert response.status_code == 400
    assert codes(response) == [8103]
    assert fields_of(response) == [path]


def _unknown_keys(n: int) -> bytes:
    """A compact body with n short unknown keys, spread over the top level and a profile entry."""
    top = {f"{i:x}": 0 for i in range(n // 2)}
    body = {**top, "profiles": [{f"{i:x}": 0 for i in range(n - n // 2)}]}
    return orjson.dumps(body)


def test_100_unknown_keys_are_100_warnings(client: TestClient) -> None:
    register(client)
    response = _put_raw(client, _unknown_keys(100))
    assert response.status_code == 200, response.text
    assert codes(response, "warnings") == [8400] * 100
    assert "profiles[0].31" in fields_of(response, "warnings")


@pytest.mark.parametrize("count", [101, 6500])
def test_more_than_100_unknown_keys_are_one_400(client: TestClient, count: int) -> None:
    register(client)
    response = _put_raw(client, _unknown_keys(count))
    assert response.status_code == 400
    assert codes(response) == [8104]
    assert response.json()["warnings"] == []
    assert f"{count} keys" in response.json()["errors"][0]["message"]
    assert len(response.content) < 1000


def test_more_than_100_unknown_keys_refuse_a_registration(client: TestClient) -> None:
    body = {
        "profiles": [
            {"source": "INSTORE", "identifiers": [{"type": "mobile", "value": "919999000001"}]}
        ]
    }
    body.update({f"k{i}": i for i in range(101)})
    response = client.post("/v2/customers", json=body, headers=ACME_AUTH)
    assert response.status_code == 400
    assert codes(response) == [8104]
