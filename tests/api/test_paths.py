"""Paths match exactly: a trailing slash is a 404, never a redirect built from the Host header."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.builders import register
from tests.conftest import ACME_AUTH


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/customers/{cid}/"),
        ("GET", "/v2/customers/lookup/?source=INSTORE&identifierName=mobile&identifierValue=1"),
        ("PUT", "/v2/customers/lookup/?source=INSTORE&identifierName=mobile&identifierValue=1"),
        ("POST", "/v2/customers/"),
        ("GET", "/healthz/"),
    ],
)
def test_trailing_slash_is_404_not_a_redirect(client: TestClient, method: str, path: str) -> None:
    cid = register(client)
    response = client.request(
        method,
        path.format(cid=cid),
        headers={**ACME_AUTH, "Host": "attacker.example"},
        json={} if method != "GET" else None,
        follow_redirects=False,
    )
    assert response.status_code == 404, response.text
    assert "location" not in response.headers
    assert "attacker.example" not in response.text


def test_the_exact_path_still_answers(client: TestClient) -> None:
    cid = register(client)
    response = client.get(f"/v2/customers/{cid}", headers=ACME_AUTH)
    assert response.status_code == 200
