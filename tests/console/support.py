"""The console tests' orgs, their console users, and a signed-in session driven over HTTP."""

from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

from patron.console.sessions import COOKIE
from tests.conftest import ACME, ADMIN, GLOBEX, PASSWORD, basic

CARE = "care"
"""An org like ACME, with console users (ACME itself stays as every other test knows it)."""
OTHER = "care-other"
"""A second org with a console user of its own."""

EDITOR = ("care.editor", "editor-pass-123")
EDITOR_2 = ("care.editor2", "editor2-pass-123")
VIEWER = ("care.viewer", "viewer-pass-123")
OTHER_EDITOR = ("other.editor", "other-pass-123")

CARE_AUTH = basic("care.till")
OTHER_AUTH = basic("care-other.till")


def _user(login_password: tuple[str, str], role: str) -> dict[str, str]:
    login, password = login_password
    return {"login": login, "password": password, "role": role}


def care_doc() -> dict[str, Any]:
    """ACME's configuration under the CARE org's own credentials, with three console users."""
    doc = copy.deepcopy(ACME)
    doc["tills"] = [{"code": "care.till", "password": PASSWORD}]
    doc["oauthClients"] = []
    doc["consoleUsers"] = [
        _user(EDITOR, "editor"),
        _user(EDITOR_2, "editor"),
        _user(VIEWER, "viewer"),
    ]
    return doc


def other_doc() -> dict[str, Any]:
    """GLOBEX's configuration under the OTHER org's own credentials, with one console user."""
    doc = copy.deepcopy(GLOBEX)
    doc["tills"] = [{"code": "care-other.till", "password": PASSWORD}]
    doc["consoleUsers"] = [_user(OTHER_EDITOR, "editor")]
    return doc


def apply_console_orgs(client: TestClient) -> None:
    """Create (or keep) the CARE and OTHER orgs."""
    for code, doc in ((CARE, care_doc()), (OTHER, other_doc())):
        response = client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN)
        assert response.status_code == 200, response.text


def register_care(client: TestClient, auth: dict[str, str] = CARE_AUTH, **profile: Any) -> int:
    """Register a customer of CARE (or of the org `auth` names) with an INSTORE profile."""
    entry = {
        "source": "INSTORE",
        "identifiers": [{"type": "mobile", "value": "919999000001"}],
        "commChannels": [{"type": "email", "value": "tom@example.com"}],
        **profile,
    }
    response = client.post("/v2/customers", json={"profiles": [entry]}, headers=auth)
    assert response.status_code == 200, response.text
    return int(response.json()["createdId"])


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of a page's forms."""
    found = _CSRF.search(page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


@dataclass
class Console:
    """A signed-in console session over a shared TestClient (its cookie sent by hand)."""

    client: TestClient
    cookie: str

    def _headers(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={self.cookie}"}

    def get(self, url: str, **params: str) -> httpx.Response:
        """GET a console page, redirects not followed."""
        return self.client.get(url, params=params, headers=self._headers(), follow_redirects=False)

    def post(self, url: str, data: dict[str, str]) -> httpx.Response:
        """POST a console form, redirects not followed."""
        return self.client.post(url, data=data, headers=self._headers(), follow_redirects=False)

    def csrf(self) -> str:
        """The session's CSRF token, as the search page's sign-out form carries it."""
        return csrf_of(self.get("/console"))


def sign_in(client: TestClient, login_password: tuple[str, str]) -> Console:
    """Sign in as a console user; the session, its cookie kept out of the client's jar."""
    login, password = login_password
    response = client.post(
        "/console/sign-in",
        data={"login": login, "password": password},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    cookie = response.cookies.get(COOKIE)
    client.cookies.clear()
    assert cookie
    return Console(client, cookie)


def edit_form(console: Console, customer_id: int, profile: str = "INSTORE") -> dict[str, str]:
    """Every input of the edit form as the page renders it (checked boxes only)."""
    page = console.get(f"/console/customers/{customer_id}/edit", profile=profile)
    assert page.status_code == 200, page.text
    data: dict[str, str] = {}
    for tag in re.findall(r"<(?:input|select)[^>]*>", page.text):
        name = re.search(r'name="([^"]+)"', tag)
        if name is None:
            continue
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = (
            html.unescape(value.group(1)) if value and "<select" not in tag else ""
        )
    # Selects: the selected option's value.
    for name, value in re.findall(
        r'<select name="([^"]+)">(?:(?!</select>).)*?<option value="([^"]*)" selected>',
        page.text,
        flags=re.S,
    ):
        data[name] = html.unescape(value)
    return data
