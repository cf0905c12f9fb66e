"""Helpers of the authentication tests: run `authenticate` on a bare request, build orgs."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.testclient import TestClient

from patron.auth.principal import Principal
from patron.auth.service import Authenticator
from patron.errors import ApiError
from tests.conftest import ADMIN, PASSWORD

Headers = Mapping[str, str] | list[tuple[bytes, bytes]]
ADDRESS = "192.0.2.9"
"""The client address of the requests these helpers authenticate."""


def raw_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    """ASGI header pairs (lower-case names, latin-1 bytes) from a mapping or from raw pairs."""
    if isinstance(headers, list):
        return headers
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def bare_request(client: TestClient, headers: Headers) -> Request:
    """A minimal GET request of the app carrying `headers`."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": b"",
        "headers": raw_headers(headers),
        "app": client.app,
    }
    return Request(scope)


def authenticator(client: TestClient) -> Authenticator:
    """The app's authenticator."""
    auth: Authenticator = client.app.state.authenticator  # type: ignore[attr-defined]
    return auth


def authenticate(
    client: TestClient, headers: Headers, *, using: Authenticator | None = None
) -> Principal:
    """Run `authenticate` on the app's event loop, as `patron.auth.caller.authenticate` does for a route."""
    auth = using or authenticator(client)
    assert client.portal is not None
    return client.portal.call(auth.authenticate, bare_request(client, headers).headers, ADDRESS)


def refusal(
    client: TestClient, headers: Headers, *, using: Authenticator | None = None
) -> ApiError:
    """The ApiError `authenticate` raises for `headers` (fails the test if it accepts them)."""
    try:
        principal = authenticate(client, headers, using=using)
    except ApiError as exc:
        return exc
    raise AssertionError(f"credential unexpectedly accepted as {principal}")


def basic_raw(text: str | bytes) -> dict[str, str]:
    """An Authorization header whose Basic parameter is base64 of exactly `text`."""
    data = text.encode() if isinstance(text, str) else text
    return {"Authorization": "Basic " + base64.b64encode(data).decode()}


def md5(password: str) -> str:
    """The lower-case md5 hex a Capillary client sends."""
    return hashlib.md5(password.encode()).hexdigest()


def org_doc(
    code: str,
    *,
    tills: Mapping[str, str] | None = None,
    clients: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A small org document; by default one till `<code>.till` with the test PASSWORD."""
    return {
        "name": f"Org {code}",
        "defaultCountry": "IN",
        "sources": [{"source": "INSTORE"}],
        "tills": [
            {"code": till, "password": password}
            for till, password in (tills or {f"{code}.till": PASSWORD}).items()
        ],
        "oauthClients": clients or [],
    }


def apply_org(client: TestClient, code: str, doc: dict[str, Any]) -> None:
    """Create or change an org through the admin API."""
    response = client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN)
    assert response.status_code == 200, response.text
