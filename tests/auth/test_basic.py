"""Basic credentials: `Authorization: Basic base64(tillCode:md5hex(password))` (SPEC section 4)."""

from __future__ import annotations

import asyncio
import base64

import pytest
from starlette.testclient import TestClient

from patron import errors
from patron.api.responses import error_response
from patron.auth.principal import Principal
from patron.auth.service import DENIED_MESSAGE, Grant, VerifiedCache, parse_basic
from patron.errors import UNAUTHORIZED, ApiError
from patron.orgs.model import OrgId
from tests.auth.support import (
    ADDRESS,
    apply_org,
    authenticate,
    authenticator,
    bare_request,
    basic_raw,
    md5,
    org_doc,
    refusal,
)
from tests.conftest import ACME_AUTH, GLOBEX_AUTH, PASSWORD, basic, new_org_code

ACME_MD5 = md5(PASSWORD)

MALFORMED: dict[str, dict[str, str] | list[tuple[bytes, bytes]]] = {
    "scheme only": {"Authorization": "Basic"},
    "scheme and spaces": {"Authorization": "Basic    "},
    "other scheme": {"Authorization": "Bearer " + base64.b64encode(b"acme.till:x").decode()},
    "not base64": {"Authorization": "Basic !!!not-base64!!!"},
    "bad base64 length": {"Authorization": "Basic abcde"},
    "no colon": basic_raw("acme.till" + ACME_MD5),
    "empty till": basic_raw(":" + ACME_MD5),
    "empty password": basic_raw("acme.till:"),
    "password not md5 hex": basic_raw(f"acme.till:{PASSWORD}"),
    "md5 too long": basic_raw(f"acme.till:{ACME_MD5}0"),
    "non-ascii till": basic_raw("acmé.till:".encode() + ACME_MD5.encode()),
    "latin-1 bytes": basic_raw(b"acme\xff.till:" + ACME_MD5.encode()),
    "nul in till": basic_raw(f"acme.till\x00:{ACME_MD5}"),
    "control char in till": basic_raw(f"acme\n.till:{ACME_MD5}"),
    "till too long": basic_raw("t" * 500 + ":" + ACME_MD5),
    "huge header": {"Authorization": "Basic " + "QUFB" * 5000},
    "non-ascii header bytes": [(b"authorization", b"Basic \xff\xfe\xfd")],
}


def test_basic_credential_proves_its_till(client: TestClient) -> None:
    assert authenticate(client, ACME_AUTH) == Principal(OrgId("acme"), "acme.till", "TILL")


def test_basic_credential_of_globex_yields_a_globex_principal(client: TestClient) -> None:
    principal = authenticate(client, GLOBEX_AUTH)
    assert principal.org_id == "globex"
    assert principal.till_code == "globex.till"


def test_upper_case_md5_hex_is_accepted(client: TestClient) -> None:
    headers = basic_raw(f"acme.till:{ACME_MD5.upper()}")
    assert authenticate(client, headers).till_code == "acme.till"


def test_scheme_is_case_insensitive(client: TestClient) -> None:
    token = ACME_AUTH["Authorization"].split(" ", 1)[1]
    assert authenticate(client, {"Authorization": f"basic {token}"}).org_id == "acme"


def test_base64_padding_is_optional(client: TestClient) -> None:
    code = new_org_code()
    apply_org(client, code, org_doc(code))
    # "org-<10 hex>.till" + ":" + 32 hex digits is 52 bytes, whose base64 ends in "==".
    token = base64.b64encode(f"{code}.till:{ACME_MD5}".encode()).decode()
    assert token.endswith("==")
    headers = {"Authorization": "Basic " + token.rstrip("=")}
    assert authenticate(client, headers).till_code == f"{code}.till"


def test_wrong_password_is_refused(client: TestClient) -> None:
    exc = refusal(client, basic("acme.till", "wrong-password"))
    assert exc.status == 401


def test_unknown_till_is_refused(client: TestClient) -> None:
    assert refusal(client, basic("no.such.till")).status == 401


def test_a_password_proves_only_its_own_till(client: TestClient) -> None:
    # Both test tills share PASSWORD: the pair must match, not the password alone.
    doc = org_doc(code := new_org_code(), tills={f"{code}.till": "another-password"})
    apply_org(client, code, doc)
    assert refusal(client, basic(f"{code}.till", PASSWORD)).status == 401
    assert authenticate(client, basic(f"{code}.till", "another-password")).org_id == code


def test_missing_credential_is_refused(client: TestClient) -> None:
    assert refusal(client, {}).status == 401


@pytest.mark.parametrize("headers", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_basic_header_is_refused(
    client: TestClient, headers: dict[str, str] | list[tuple[bytes, bytes]]
) -> None:
    exc = refusal(client, headers)
    assert [p.entry for p in exc.errors] == [UNAUTHORIZED]


def test_every_refusal_has_the_same_response(client: TestClient) -> None:
    causes = [
        {},
        basic("acme.till", "wrong-password"),
        basic("no.such.till"),
        *MALFORMED.values(),
        {"X-CAP-API-OAUTH-TOKEN": "not-a-token"},
    ]
    responses = {
        (r.status_code, r.body, tuple(sorted(r.headers.items())))
        for r in (error_response(refusal(client, h)) for h in causes)
    }
    assert len(responses) == 1
    status, body, _ = responses.pop()
    assert status == 401
    assert body == (
        b'{"errors":[{"code":8110,"message":"' + DENIED_MESSAGE.encode() + b'","status":false}],'
        b'"warnings":[]}'
    )


def test_refusal_through_http_has_the_error_shape(client: TestClient) -> None:
    response = client.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": "1"},
        headers=basic("acme.till", "wrong-password"),
    )
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"code": 8110, "message": DENIED_MESSAGE, "status": False}],
        "warnings": [],
    }
    assert response.headers["www-authenticate"].startswith("Basic")


def test_password_change_invalidates_a_cached_credential(client: TestClient) -> None:
    code = new_org_code()
    till = f"{code}.till"
    apply_org(client, code, org_doc(code, tills={till: "first-password"}))
    old = basic(till, "first-password")
    assert authenticate(client, old).org_id == code
    assert authenticate(client, old).org_id == code  # now from the verified cache

    apply_org(client, code, org_doc(code, tills={till: "second-password"}))
    assert refusal(client, old).status == 401
    assert authenticate(client, basic(till, "second-password")).org_id == code


def test_removed_till_invalidates_a_cached_credential(client: TestClient) -> None:
    code = new_org_code()
    kept, removed = f"{code}.kept", f"{code}.removed"
    apply_org(client, code, org_doc(code, tills={kept: PASSWORD, removed: PASSWORD}))
    assert authenticate(client, basic(removed)).till_code == removed

    apply_org(client, code, org_doc(code, tills={kept: PASSWORD}))
    assert refusal(client, basic(removed)).status == 401
    assert authenticate(client, basic(kept)).till_code == kept


def test_concurrent_first_uses_of_a_credential_all_succeed(client: TestClient) -> None:
    code = new_org_code()
    apply_org(client, code, org_doc(code))
    auth = authenticator(client)
    requests = [bare_request(client, basic(f"{code}.till")) for _ in range(8)]

    async def all_at_once() -> list[Principal]:
        return await asyncio.gather(*(auth.authenticate(r.headers, ADDRESS) for r in requests))

    assert client.portal is not None
    principals = client.portal.call(all_at_once)
    assert {p.org_id for p in principals} == {code}


def test_concurrent_wrong_passwords_are_all_refused(client: TestClient) -> None:
    auth = authenticator(client)
    requests = [bare_request(client, basic("acme.till", "wrong")) for _ in range(4)]

    async def all_at_once() -> list[Principal | BaseException]:
        return await asyncio.gather(
            *(auth.authenticate(r.headers, ADDRESS) for r in requests), return_exceptions=True
        )

    assert client.portal is not None
    outcomes = client.portal.call(all_at_once)
    assert all(isinstance(o, ApiError) and o.status == 401 for o in outcomes)


def test_parse_basic_lower_cases_the_md5_hex() -> None:
    header = basic_raw(f"till-1:{ACME_MD5.upper()}")["Authorization"]
    assert parse_basic(header) == ("till-1", ACME_MD5)


def test_verified_cache_is_a_bounded_lru() -> None:
    cache = VerifiedCache(max_entries=2)
    grant = Grant(OrgId("acme"), "hash")
    cache.put(b"a", grant)
    cache.put(b"b", grant)
    assert cache.get(b"a") == grant  # "a" is now the most recently used
    cache.put(b"c", grant)
    assert len(cache) == 2
    assert cache.get(b"b") is None
    assert cache.get(b"a") == grant
    assert cache.get(b"c") == grant
    cache.discard(b"a")
    assert cache.get(b"a") is None


@pytest.mark.parametrize(
    "path",
    [
        "/v2/customers/1/changes?limit=0",  # a query FastAPI validates (limit 1-100)
        "/v2/customers/lookup?source=NOPE&identifierName=x&identifierValue=y",
        "/v2/customers/1?source=NOPE",
        "/v2/customers/lookup/loyaltyDetails?source=NOPE&identifierName=x&identifierValue=y",
        "/v2/customers/1/loyaltyDetails?programId=x",
        "/v2/customers/x/pointsExpirySchedule",
    ],
)
def test_a_missing_credential_is_answered_before_a_bad_query(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert [e["code"] for e in response.json()["errors"]] == [errors.UNAUTHORIZED.code]
