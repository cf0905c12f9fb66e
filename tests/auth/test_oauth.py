"""OAuth: `POST /v3/oauth/token/generate` and the `X-CAP-API-OAUTH-TOKEN` header (SPEC section 4)."""

from __future__ import annotations

import base64
import json
import time
import warnings
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from patron.auth.principal import Principal
from patron.auth.service import DENIED_MESSAGE, Authenticator
from patron.auth.tokens import ALGORITHM, ISSUER, TokenCodec, signing_key
from patron.errors import ApiError
from patron.orgs.model import OrgId
from tests.auth.support import apply_org, authenticate, authenticator, org_doc, refusal
from tests.conftest import ACME_AUTH, PASSWORD, SECRET_KEY, new_org_code

TOKEN_URL = "/v3/oauth/token/generate"
ACME_CLIENT = {"key": "acme-backend", "secret": "long-random-secret"}
DENIED_BODY = {
    "errors": [{"code": 8110, "message": DENIED_MESSAGE, "status": False}],
    "warnings": [],
}


def generate(client: TestClient, key: str, secret: str) -> str:
    """A fresh token for the client `key`."""
    response = client.post(TOKEN_URL, json={"key": key, "secret": secret})
    assert response.status_code == 200, response.text
    token: str = response.json()["data"]["accessToken"]
    return token


def oauth(token: str) -> dict[str, str]:
    """The header that carries a token."""
    return {"X-CAP-API-OAUTH-TOKEN": token}


def codec(secret_key: str = SECRET_KEY) -> TokenCodec:
    """A codec like the app's (its TTL does not matter to verification)."""
    return TokenCodec(secret_key, ttl_seconds=300)


def tamper(token: str, part: int) -> str:
    """`token` with one character of its header (0), payload (1) or signature (2) changed."""
    parts = token.split(".")
    middle = len(parts[part]) // 2
    flipped = "A" if parts[part][middle] != "A" else "B"
    parts[part] = parts[part][:middle] + flipped + parts[part][middle + 1 :]
    return ".".join(parts)


def client_doc(
    code: str, *, secret: str = "first-secret", till: str | None = None
) -> dict[str, Any]:
    """An org with tills `<code>.a` and `<code>.b` and the OAuth client `<code>-client`."""
    return org_doc(
        code,
        tills={f"{code}.a": PASSWORD, f"{code}.b": PASSWORD},
        clients=[{"key": f"{code}-client", "secret": secret, "till": till or f"{code}.a"}],
    )


def test_token_generation_answers_a_token_and_its_lifetime(client: TestClient) -> None:
    response = client.post(TOKEN_URL, json=ACME_CLIENT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"] is None
    assert body["data"]["ttlSeconds"] == 300
    assert isinstance(body["data"]["accessToken"], str)
    assert response.headers["cache-control"] == "no-store"


def test_token_names_its_org_till_client_issuer_and_expiry(client: TestClient) -> None:
    before = int(time.time())
    token = generate(client, **ACME_CLIENT)
    claims = jwt.decode(token, signing_key(SECRET_KEY), algorithms=[ALGORITHM], issuer=ISSUER)
    assert claims["org"] == "acme"
    assert claims["till"] == "acme.till"
    assert claims["key"] == "acme-backend"
    assert claims["iss"] == "patron"
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 300


def test_token_authenticates_as_its_till(client: TestClient) -> None:
    token = generate(client, **ACME_CLIENT)
    assert authenticate(client, oauth(token)) == Principal(OrgId("acme"), "acme.till")


def test_oauth_header_is_used_even_with_a_valid_basic_credential(client: TestClient) -> None:
    assert refusal(client, {**ACME_AUTH, **oauth("not-a-token")}).status == 401


@pytest.mark.parametrize(
    "body",
    [
        {"key": "acme-backend", "secret": "wrong-secret"},
        {"key": "no-such-client", "secret": "long-random-secret"},
        {"key": "acme-backend", "secret": ""},
        {"key": "", "secret": "long-random-secret"},
        {"key": "acme.till", "secret": PASSWORD},
    ],
    ids=["wrong secret", "unknown key", "empty secret", "empty key", "a till"],
)
def test_wrong_client_credentials_get_the_same_401(
    client: TestClient, body: dict[str, str]
) -> None:
    response = client.post(TOKEN_URL, json=body)
    assert response.status_code == 401
    assert response.json() == DENIED_BODY


def test_nul_in_key_is_refused_as_bad_input(client: TestClient) -> None:
    response = client.post(
        TOKEN_URL, json={"key": "acme-backend\u0000", "secret": "long-random-secret"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 8115


def test_lone_surrogate_in_secret_is_not_a_500(client: TestClient) -> None:
    raw = b'{"key": "acme-backend", "secret": "\\ud800"}'
    response = client.post(TOKEN_URL, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 401)
    assert response.json()["errors"][0]["code"] in (8100, 8101, 8110)


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"key": "acme-backend", "secret": "long-random-secret"}', "text/plain", 415, 8109),
        (b'{"key": "acme-backend",', "application/json", 400, 8100),
        (b'{"key": 12, "secret": "long-random-secret"}', "application/json", 400, 8101),
        (b'{"key": "acme-backend"}', "application/json", 400, 8102),
        (b"[]", "application/json", 400, 8101),
        (b'{"key": "k", "secret": "' + b"s" * 70_000 + b'"}', "application/json", 413, 8108),
    ],
    ids=["not json", "malformed", "wrong type", "missing secret", "not an object", "too large"],
)
def test_bad_token_request_bodies(
    client: TestClient, content: bytes, content_type: str, status: int, code: int
) -> None:
    response = client.post(TOKEN_URL, content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["code"] == code


def test_expired_token_is_refused(client: TestClient) -> None:
    token = codec().issue(OrgId("acme"), "acme.till", "acme-backend", now=time.time() - 3600)
    assert refusal(client, oauth(token)).status == 401


def test_token_made_by_the_codec_is_accepted(client: TestClient) -> None:
    token = codec().issue(OrgId("acme"), "acme.till", "acme-backend")
    assert authenticate(client, oauth(token)).org_id == "acme"


@pytest.mark.parametrize("part", [0, 1, 2], ids=["header", "payload", "signature"])
def test_tampered_token_is_refused(client: TestClient, part: int) -> None:
    token = generate(client, **ACME_CLIENT)
    assert refusal(client, oauth(tamper(token, part))).status == 401


def test_token_claiming_another_org_is_refused(client: TestClient) -> None:
    token = generate(client, **ACME_CLIENT)
    header, _, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "org": "globex"}).encode())
    forged_token = ".".join([header, forged.decode().rstrip("="), signature])
    assert refusal(client, oauth(forged_token)).status == 401


def test_token_signed_with_another_key_is_refused(client: TestClient) -> None:
    token = codec("another-secret-key-0123456789abcdef").issue(
        OrgId("acme"), "acme.till", "acme-backend"
    )
    assert refusal(client, oauth(token)).status == 401


def test_token_with_another_algorithm_is_refused(client: TestClient) -> None:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "org": "acme",
        "till": "acme.till",
        "key": "acme-backend",
        "iat": now,
        "exp": now + 300,
    }
    with warnings.catch_warnings():
        # The point is the right key under another algorithm, too short a key for HS512.
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        hs512 = jwt.encode(claims, signing_key(SECRET_KEY), algorithm="HS512")
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert refusal(client, oauth(hs512)).status == 401
    assert refusal(client, oauth(unsigned)).status == 401


def test_token_missing_a_claim_or_issuer_is_refused(client: TestClient) -> None:
    now = int(time.time())
    full = {
        "iss": ISSUER,
        "org": "acme",
        "till": "acme.till",
        "key": "acme-backend",
        "iat": now,
        "exp": now + 300,
    }
    for name in full:
        claims = {k: v for k, v in full.items() if k != name}
        token = jwt.encode(claims, signing_key(SECRET_KEY), algorithm=ALGORITHM)
        assert refusal(client, oauth(token)).status == 401, name
    for name, value in (("iss", "someone-else"), ("org", 7), ("till", ""), ("key", ["x"])):
        token = jwt.encode({**full, name: value}, signing_key(SECRET_KEY), algorithm=ALGORITHM)
        assert refusal(client, oauth(token)).status == 401, name


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "a.b", "é.é.é", "x" * 5000, "Bearer x.y.z"],
    ids=["empty", "word", "three junk parts", "two parts", "non-ascii", "huge", "with scheme"],
)
def test_malformed_token_is_refused(client: TestClient, token: str) -> None:
    headers = [(b"x-cap-api-oauth-token", token.encode())]
    assert refusal(client, headers).status == 401


def test_token_of_a_removed_client_is_refused(client: TestClient) -> None:
    code = new_org_code()
    apply_org(client, code, client_doc(code))
    token = generate(client, f"{code}-client", "first-secret")
    assert authenticate(client, oauth(token)).till_code == f"{code}.a"

    apply_org(client, code, org_doc(code, tills={f"{code}.a": PASSWORD}))
    assert refusal(client, oauth(token)).status == 401


def test_token_whose_client_changed_till_is_refused(client: TestClient) -> None:
    code = new_org_code()
    apply_org(client, code, client_doc(code))
    token = generate(client, f"{code}-client", "first-secret")

    apply_org(client, code, client_doc(code, till=f"{code}.b"))
    assert refusal(client, oauth(token)).status == 401
    fresh = generate(client, f"{code}-client", "first-secret")
    assert authenticate(client, oauth(fresh)).till_code == f"{code}.b"


def test_secret_change_invalidates_a_cached_client_secret(client: TestClient) -> None:
    code = new_org_code()
    apply_org(client, code, client_doc(code, secret="first-secret"))
    generate(client, f"{code}-client", "first-secret")
    generate(client, f"{code}-client", "first-secret")  # now from the verified cache

    apply_org(client, code, client_doc(code, secret="second-secret"))
    response = client.post(TOKEN_URL, json={"key": f"{code}-client", "secret": "first-secret"})
    assert response.status_code == 401
    assert response.json() == DENIED_BODY
    generate(client, f"{code}-client", "second-secret")


def test_without_a_secret_key_no_token_is_issued_or_accepted(client: TestClient) -> None:
    app_auth = authenticator(client)
    keyless = Authenticator(
        client.app.state.db,  # type: ignore[attr-defined]
        client.app.state.orgs,  # type: ignore[attr-defined]
        secret_key=None,
        token_ttl=300,
        throttle=app_auth.throttle,
    )
    token = generate(client, **ACME_CLIENT)
    assert refusal(client, oauth(token), using=keyless).status == 401
    assert authenticate(client, oauth(token), using=app_auth).org_id == "acme"

    assert client.portal is not None
    with pytest.raises(ApiError) as caught:
        client.portal.call(keyless.issue_token, "acme-backend", "long-random-secret")
    assert caught.value.status == 401
