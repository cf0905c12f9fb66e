"""Bad input of every kind gets a 4xx with a catalogue code and a field path, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.builders import codes, fields_of, lookup_params, register
from tests.conftest import ACME_AUTH, table_counts

WRONG_VALUES: list[Any] = [None, True, 1, 1.5, "text", [], {}, [1], {"a": 1}]

# Every place of the update body, and the JSON types it accepts.
PLACES: list[tuple[str, Any, set[str]]] = [
    ("loyaltyType", lambda v: {"loyaltyType": v}, {"str", "null"}),
    ("loyaltyInfo", lambda v: {"loyaltyInfo": v}, {"object", "null"}),
    ("loyaltyInfo.loyaltyType", lambda v: {"loyaltyInfo": {"loyaltyType": v}}, {"str", "null"}),
    ("profiles", lambda v: {"profiles": v}, {"list", "null"}),
    ("profiles[0]", lambda v: {"profiles": [v]}, {"object"}),
    ("profiles[0].source", lambda v: {"profiles": [{"source": v}]}, {"str", "null"}),
    ("profiles[0].accountId", lambda v: {"profiles": [{"accountId": v}]}, {"str", "null"}),
    ("profiles[0].firstName", lambda v: {"profiles": [{"firstName": v}]}, {"str", "null"}),
    ("profiles[0].lastName", lambda v: {"profiles": [{"lastName": v}]}, {"str", "null"}),
    ("profiles[0].identifiers", lambda v: {"profiles": [{"identifiers": v}]}, {"list", "null"}),
    ("profiles[0].identifiers[0]", lambda v: {"profiles": [{"identifiers": [v]}]}, {"object"}),
    (
        "profiles[0].identifiers[0].type",
        lambda v: {"profiles": [{"identifiers": [{"type": v, "value": "x"}]}]},
        {"str"},
    ),
    (
        "profiles[0].identifiers[0].value",
        lambda v: {"profiles": [{"identifiers": [{"type": "externalId", "value": v}]}]},
        {"str", "int"},
    ),
    ("profiles[0].commChannels", lambda v: {"profiles": [{"commChannels": v}]}, {"list", "null"}),
    ("profiles[0].fields", lambda v: {"profiles": [{"fields": v}]}, {"object", "null"}),
    ("commChannels", lambda v: {"commChannels": v}, {"list", "null"}),
    ("commChannels[0]", lambda v: {"commChannels": [v]}, {"object"}),
    ("commChannels[0].type", lambda v: {"commChannels": [{"type": v, "value": "x"}]}, {"str"}),
    (
        "commChannels[0].value",
        lambda v: {"commChannels": [{"type": "wechat", "value": v}]},
        {"str", "int"},
    ),
    (
        "commChannels[0].primary",
        lambda v: {"commChannels": [{"type": "wechat", "value": "w", "primary": v}]},
        {"bool", "null"},
    ),
    (
        "commChannels[0].verified",
        lambda v: {"commChannels": [{"type": "wechat", "value": "w", "verified": v}]},
        {"bool", "null"},
    ),
    (
        "commChannels[0].meta",
        lambda v: {"commChannels": [{"type": "wechat", "value": "w", "meta": v}]},
        {"object", "null"},
    ),
    (
        "commChannels[0].lastViewedDate",
        lambda v: {"commChannels": [{"type": "wechat", "value": "w", "lastViewedDate": v}]},
        {"str", "null"},
    ),
    ("fields", lambda v: {"fields": v}, {"object", "null"}),
    ("extendedFields", lambda v: {"extendedFields": v}, {"object", "null"}),
    ("loyaltyProgramEnrollments", lambda v: {"loyaltyProgramEnrollments": v}, {"list", "null"}),
    ("loyaltyProgramEnrollments[0]", lambda v: {"loyaltyProgramEnrollments": [v]}, {"object"}),
    (
        "loyaltyProgramEnrollments[0].programId",
        lambda v: {"loyaltyProgramEnrollments": [{"programId": v}]},
        {"int"},
    ),
    (
        "loyaltyProgramEnrollments[0].tierNumber",
        lambda v: {"loyaltyProgramEnrollments": [{"programId": 1016, "tierNumber": v}]},
        {"int", "null"},
    ),
    (
        "loyaltyProgramEnrollments[0].loyaltyPoints",
        lambda v: {"loyaltyProgramEnrollments": [{"programId": 1016, "loyaltyPoints": v}]},
        {"int", "null"},
    ),
    (
        "loyaltyProgramEnrollments[0].tierExpiryDate",
        lambda v: {"loyaltyProgramEnrollments": [{"programId": 1016, "tierExpiryDate": v}]},
        {"str", "null"},
    ),
    (
        "loyaltyProgramEnrollments[0].pointsExpiryDate",
        lambda v: {"loyaltyProgramEnrollments": [{"programId": 1016, "pointsExpiryDate": v}]},
        {"str", "null"},
    ),
]


def _kind(value: Any) -> str:
    return {
        type(None): "null",
        bool: "bool",
        int: "int",
        float: "float",
        str: "str",
        list: "list",
        dict: "object",
    }[type(value)]


CASES = [
    pytest.param(path, build, value, id=f"{path}={value!r}")
    for path, build, accepted in PLACES
    for value in WRONG_VALUES
    if _kind(value) not in accepted
]


@pytest.mark.parametrize(("path", "build", "value"), CASES)
def test_wrong_type_in_every_field_is_400_with_path(
    client: TestClient, path: str, build: Any, value: Any
) -> None:
    register(client)
    counts = table_counts(client)
    response = client.put(
        "/v2/customers/lookup", params=lookup_params(), json=build(value), headers=ACME_AUTH
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"errors", "warnings"}
    assert all(isinstance(e["code"], int) and e["status"] is False for e in body["errors"])
    assert path in fields_of(response), body
    assert table_counts(client) == counts


@pytest.mark.parametrize("body", [b"{", b"[1,2", b"nul", b"\xff\xfe", b'{"a": 1,}', b""])
def test_malformed_json_is_8100(client: TestClient, body: bytes) -> None:
    register(client)
    response = client.put(
        "/v2/customers/lookup",
        params=lookup_params(),
        content=body,
        headers={**ACME_AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert codes(response) == [8100]


@pytest.mark.parametrize("body", [b"[]", b"1", b'"text"', b"null", b"true"])
def test_body_that_is_not_an_object_is_8101(client: TestClient, body: bytes) -> None:
    register(client)
    response = client.put(
        "/v2/customers/lookup",
        params=lookup_params(),
        content=body,
        headers={**ACME_AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert codes(response) == [8101]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_body_not_sent_as_json_is_415(client: TestClient, content_type: str | None) -> None:
    register(client)
    headers = dict(ACME_AUTH)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.put(
        "/v2/customers/lookup", params=lookup_params(), content=b"{}", headers=headers
    )
    assert response.status_code == 415
    assert codes(response) == [8109]


def test_body_over_64_kib_is_413(client: TestClient) -> None:
    register(client)
    body = {"fields": {"employee": "x" * 70_000}}
    response = client.put(
        "/v2/customers/lookup", params=lookup_params(), json=body, headers=ACME_AUTH
    )
    assert response.status_code == 413
    assert codes(response) == [8108]


@pytest.mark.parametrize("key", [None, "k-1"])
def test_large_body_of_the_wrong_media_type_is_415_with_or_without_a_key(
    client: TestClient, key: str | None
) -> None:
    # Streamed without Content-Length, so only reading tells its size: the media type is
    # checked first either way, as one reader reads every write request.
    register(client)
    headers = {**ACME_AUTH, "Content-Type": "text/plain"}
    if key is not None:
        headers["Idempotency-Key"] = key

    def chunks() -> Iterator[bytes]:
        yield b"x" * 70_000

    response = client.put(
        "/v2/customers/lookup", params=lookup_params(), content=chunks(), headers=headers
    )
    assert response.status_code == 415
    assert codes(response) == [8109]


def test_bad_query_flags_are_400(client: TestClient) -> None:
    register(client)
    response = client.put(
        "/v2/customers/lookup", params=lookup_params(dryRun="perhaps"), json={}, headers=ACME_AUTH
    )
    assert response.status_code == 400
    assert codes(response) == [8107]
    response = client.get("/v2/customers/1/changes", params={"limit": "many"}, headers=ACME_AUTH)
    assert response.status_code == 400
    assert codes(response) == [8107]


def test_unknown_route_and_method_use_the_error_shape(client: TestClient) -> None:
    response = client.get("/v2/nothing", headers=ACME_AUTH)
    assert response.status_code == 404 and codes(response) == [8111]
    response = client.delete("/v2/customers/lookup", headers=ACME_AUTH)
    assert response.status_code == 405 and codes(response) == [8112]
