"""Credentials: constant-time checks, argon2id at rest, a required secret key, strict tokens."""

from __future__ import annotations

import base64
import inspect
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from patron.auth import deps
from patron.auth.service import DENIED_MESSAGE
from patron.auth.tokens import TokenCodec
from patron.cli.main import app as cli
from patron.db.driver import Connection
from patron.orgs import passwords
from patron.orgs.model import OrgId
from tests.auth.support import apply_org, org_doc
from tests.builders import lookup_params
from tests.conftest import (
    ACME_AUTH,
    ADMIN,
    ADMIN_TOKEN,
    PASSWORD,
    SECRET_KEY,
    basic,
    new_org_code,
    run,
)
from tests.security.support import OwnApp, own_app, same_answer

DENIED_BODY = {
    "errors": [{"code": 8110, "message": DENIED_MESSAGE, "status": False}],
    "warnings": [],
}
TOKEN_URL = "/v3/oauth/token/generate"
ACME_CLIENT = {"key": "acme-backend", "secret": "long-random-secret"}
XORG_SECRET = "xorg-client-secret"


@pytest.fixture
def own(client: TestClient, database_url: str) -> Iterator[OwnApp]:
    """An app of its own without throttling: these tests fail authentication on purpose."""
    with own_app(database_url, limit=0) as app:
        yield app


# --- the admin token ---------------------------------------------------------------------


def test_admin_token_is_compared_in_constant_time() -> None:
    # Both sides are hashed to 32 bytes first, so even the length of the offered token
    # changes neither the time of the comparison nor the answer.
    source = inspect.getsource(deps.require_admin)
    assert "hmac.compare_digest(" in source
    assert source.count("hashlib.sha256(") == 2


@pytest.mark.parametrize(
    "offered",
    [
        "x" * len(ADMIN_TOKEN),  # right length
        ADMIN_TOKEN[:-1] + "X",  # right length, one character off
        ADMIN_TOKEN[:-1],  # one shorter
        ADMIN_TOKEN + "x",  # one longer
        "x",
        "x" * 5000,
        "",
    ],
    ids=["same length", "last char", "shorter", "longer", "one char", "very long", "empty"],
)
def test_every_wrong_admin_token_gets_the_same_401(own: OwnApp, offered: str) -> None:
    reference = own.http.get("/admin/orgs/acme", headers={"Authorization": "Bearer wrong"})
    assert reference.status_code == 401
    assert reference.json() == DENIED_BODY
    for path in ("/admin/orgs/acme", "/admin/orgs/no-such-org"):
        response = own.http.get(path, headers={"Authorization": f"Bearer {offered}"})
        assert same_answer(response, reference), (response.status_code, response.text)
    assert own.http.get("/admin/orgs/acme", headers=ADMIN).status_code == 200


# --- secrets at rest ---------------------------------------------------------------------


def test_secrets_are_stored_only_as_argon2id_hashes(client: TestClient) -> None:
    async def stored(conn: Connection) -> list[str]:
        tills = await conn.fetch("SELECT password_hash FROM tills")
        clients = await conn.fetch("SELECT secret_hash FROM oauth_clients")
        return [r["password_hash"] for r in tills] + [r["secret_hash"] for r in clients]

    hashes = run(client, stored)
    assert len(hashes) >= 3  # ACME's and GLOBEX's tills, ACME's OAuth client
    for value in hashes:
        assert value.startswith("$argon2id$"), value
        for secret in (PASSWORD, passwords.md5_hex(PASSWORD), ACME_CLIENT["secret"]):
            assert secret not in value
    acme_till = next(h for h in hashes if passwords.verify_secret(h, passwords.md5_hex(PASSWORD)))
    assert acme_till  # the hash is of the md5 hex a client sends, checked by argon2


def test_an_unknown_till_costs_one_argon2_verification(
    own: OwnApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A miss is checked against a dummy argon2id hash, so its time tells nothing.
    checked: list[str] = []
    verify = passwords.verify_secret

    def counting(stored_hash: str, secret: str) -> bool:
        checked.append(stored_hash)
        return verify(stored_hash, secret)

    monkeypatch.setattr(passwords, "verify_secret", counting)
    response = own.http.get(
        "/v2/customers/lookup", params=lookup_params(), headers=basic("no.such.till")
    )
    assert response.status_code == 401
    assert checked == [passwords._DUMMY_HASH]
    assert checked[0].startswith("$argon2id$")


# --- the secret key ----------------------------------------------------------------------


def test_serve_refuses_to_start_without_a_secret_key(tmp_path: Path, no_server: list[Any]) -> None:
    db = tmp_path / "patron.db"
    for env in ({}, {"PATRON_SECRET_KEY": ""}):
        result = CliRunner().invoke(cli, ["serve", "--database-url", f"sqlite:///{db}"], env=env)
        assert result.exit_code == 2, result.output
        assert "PATRON_SECRET_KEY is not set" in result.output
        assert "openssl rand -hex 32" in result.output
    assert not db.exists()  # refused before touching the database
    assert no_server == []


def test_serve_starts_with_a_secret_key(tmp_path: Path, no_server: list[Any]) -> None:
    db = tmp_path / "patron.db"
    result = CliRunner().invoke(
        cli,
        ["serve", "--database-url", f"sqlite:///{db}"],
        env={"PATRON_SECRET_KEY": "a-long-random-secret-for-this-test"},
    )
    assert result.exit_code == 0, result.output
    assert len(no_server) == 1 and db.exists()


# --- OAuth tokens ------------------------------------------------------------------------


def _forge(token: str, **claims: Any) -> str:
    """`token` with some claims changed and its signature kept (so no longer valid)."""
    header, _, signature = token.split(".")
    payload = {**jwt.decode(token, options={"verify_signature": False}), **claims}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return ".".join([header, body, signature])


def _tamper(token: str, part: int) -> str:
    parts = token.split(".")
    middle = len(parts[part]) // 2
    parts[part] = (
        parts[part][:middle]
        + ("A" if parts[part][middle] != "A" else "B")
        + parts[part][middle + 1 :]
    )
    return ".".join(parts)


def test_bad_tokens_all_get_the_same_401(own: OwnApp) -> None:
    code = new_org_code("xorg")
    apply_org(
        own.http,
        code,
        org_doc(
            code, clients=[{"key": f"{code}-client", "secret": XORG_SECRET, "till": f"{code}.till"}]
        ),
    )
    ours = TokenCodec(SECRET_KEY, ttl_seconds=300)
    theirs = TokenCodec("another-secret-key-0123456789abcdef", ttl_seconds=300)
    good = own.http.post(TOKEN_URL, json=ACME_CLIENT).json()["data"]["accessToken"]
    acme = OrgId("acme")
    bad = {
        "tampered header": _tamper(good, 0),
        "tampered payload": _tamper(good, 1),
        "tampered signature": _tamper(good, 2),
        "claims another org": _forge(good, org="globex"),
        "claims another till": _forge(good, till="globex.till"),
        "expired": ours.issue(acme, "acme.till", "acme-backend", now=time.time() - 3600),
        "another secret key": theirs.issue(acme, "acme.till", "acme-backend"),
        # Signed with our key, but naming tills and clients of other orgs:
        "other org, acme's client": ours.issue(OrgId("globex"), "acme.till", "acme-backend"),
        "acme, other org's client": ours.issue(acme, "acme.till", f"{code}-client"),
        "other org's client as acme's till": ours.issue(OrgId(code), "acme.till", f"{code}-client"),
        "acme's client as another org's till": ours.issue(acme, f"{code}.till", "acme-backend"),
        "no such org": ours.issue(OrgId("no-such-org"), "acme.till", "acme-backend"),
        "alg none": jwt.encode(
            jwt.decode(good, options={"verify_signature": False}), None, algorithm="none"
        ),
        "garbage": "not-a-token",
    }

    def call(token: str) -> Any:
        return own.http.get(
            "/v2/customers/lookup",
            params=lookup_params(),
            headers={"X-CAP-API-OAUTH-TOKEN": token},
        )

    reference = call("not-a-token")
    assert reference.status_code == 401 and reference.json() == DENIED_BODY
    for name, token in bad.items():
        assert same_answer(call(token), reference), name
    assert call(good).status_code == 404  # the good token works: no customer there
    assert call(ours.issue(OrgId(code), f"{code}.till", f"{code}-client")).status_code == 404


def test_wrong_token_requests_get_the_same_401(own: OwnApp) -> None:
    code = new_org_code("xorg")
    apply_org(
        own.http,
        code,
        org_doc(
            code, clients=[{"key": f"{code}-client", "secret": XORG_SECRET, "till": f"{code}.till"}]
        ),
    )
    reference = own.http.post(TOKEN_URL, json={"key": "no-such-key", "secret": "x"})
    assert reference.status_code == 401 and reference.json() == DENIED_BODY
    for body in (
        {"key": "acme-backend", "secret": XORG_SECRET},  # another org's secret
        {"key": f"{code}-client", "secret": ACME_CLIENT["secret"]},
        {"key": "acme-backend", "secret": ACME_CLIENT["secret"] + "x"},
        {"key": "acme.till", "secret": PASSWORD},  # a till is not an OAuth client
    ):
        response = own.http.post(TOKEN_URL, json=body, headers=ACME_AUTH)
        assert same_answer(response, reference), body
