"""No stack trace and no SQL ever reaches a response, whatever the input.

Hostile values are put, one at a time, in every string (and every key) and every number of full
request bodies, of query parameters and of path segments: NUL characters (which PostgreSQL's
text type refuses), lone surrogates, other control characters, numbers past 64 bits. Every
answer must be below 500 and free of tracebacks, SQL and driver names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from starlette.testclient import TestClient

from tests.builders import lookup_params, register
from tests.conftest import ACME_AUTH, ADMIN, PASSWORD, acme_doc, new_org_code
from tests.security.support import LeakLog, own_app

NUL = "\u0000"
POISONS = {
    "nul": NUL,
    "lone surrogate": "\ud800",
    "control": "\u0007\u001b",
    "sql": "'; DROP TABLE customers; --",
}
"""Appended to a string value."""
HUGE_NUMBERS = {"2**70": 2**70, "-2**70": -(2**70), "2**63": 2**63, "1e308": 1e308}
"""Put in place of a number."""


def update_body(n: int) -> dict[str, Any]:
    """A body that sets every kind of value, with identifiers of its own (`n` tells apart)."""
    return {
        "loyaltyType": "loyalty",
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "profiles": [
            {
                "source": "INSTORE",
                "firstName": "Ann",
                "lastName": "Lee",
                "identifiers": [
                    {"type": "email", "value": f"ann{n}@example.com"},
                    {"type": "externalId", "value": f"ext-ann-{n}"},
                ],
                "commChannels": [
                    {
                        "type": "email",
                        "value": f"ann{n}@example.com",
                        "primary": "true",
                        "verified": "false",
                        "meta": {"note": "hello", "count": 3},
                    }
                ],
                "fields": {"employee": "yes", "favourite_colour": "red", "shoe_size": 42},
            },
            {
                "source": "MOBILE_APP",
                "accountId": "app1",
                "identifiers": [{"type": "mobile", "value": mobile(n, 1)}],
                "commChannels": [
                    {
                        "type": "mobilePush",
                        "value": f"push-token-{n}",
                        "lastViewedDate": "2024-01-02",
                    }
                ],
            },
        ],
        "commChannels": [{"type": "mobile", "value": mobile(n, 2), "primary": True}],
        "fields": {"employee": "no"},
        "extendedFields": {
            "gender": "Female",
            "city": "Pune",
            "dob": "1990-01-01",
            "anniversary": "2015-06-01T10:00:00+05:30",
            "nationality": "IN",
            "preferred_language": "en",
            "children": 2,
            "annual_income": 1234.5,
            "is_vip": True,
        },
        "loyaltyProgramEnrollments": [
            {
                "programId": 2020,
                "tierNumber": 1,
                "loyaltyPoints": 10,
                "tierExpiryDate": "2099-01-01T00:00:00Z",
                "pointsExpiryDate": "2099-01-01T00:00:00Z",
            }
        ],
    }


def registration_body(n: int) -> dict[str, Any]:
    """`update_body(n)` plus the mobile identifier a registration needs."""
    body = update_body(n)
    body["profiles"][0]["identifiers"].append({"type": "mobile", "value": mobile(n, 0)})
    return body


def mobile(n: int, which: int) -> str:
    """A valid Indian mobile number, different for every (n, which)."""
    return f"9198{which}{n:07d}"


Path = tuple[str | int, ...]


def leaves(doc: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every scalar of `doc` with its path."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from leaves(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from leaves(value, (*path, i))
    else:
        yield path, doc


def keys(doc: Any, path: Path = ()) -> Iterator[Path]:
    """The path of every object key of `doc`."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*path, key)
            yield from keys(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from keys(value, (*path, i))


def _parent(doc: Any, path: Path) -> Any:
    node = doc
    for step in path[:-1]:
        node = node[step]
    return node


Change = Callable[[Any], None]


def changes(doc: Any) -> Iterator[tuple[str, Change]]:
    """One hostile change at a time to a document shaped like `doc`, named by where it is."""

    def put(path: Path, value: Any) -> Change:
        return lambda d: _parent(d, path).__setitem__(path[-1], value)

    def append(path: Path, suffix: str) -> Change:
        return lambda d: _parent(d, path).__setitem__(path[-1], _parent(d, path)[path[-1]] + suffix)

    def rename(path: Path, suffix: str) -> Change:
        def change(d: Any) -> None:
            parent = _parent(d, path)
            parent[f"{path[-1]}{suffix}"] = parent.pop(path[-1])

        return change

    for path, value in leaves(doc):
        where = ".".join(map(str, path))
        if isinstance(value, str):
            for name, poison in POISONS.items():
                yield f"{where} + {name}", append(path, poison)
            yield f"{where} = nul", put(path, NUL)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            for name, number in HUGE_NUMBERS.items():
                yield f"{where} = {name}", put(path, number)
        yield f"{where} = 5000 characters", put(path, "x" * 5000)
    for path in keys(doc):
        where = ".".join(map(str, path))
        yield f"key {where} + nul", rename(path, NUL)
        yield f"key {where} + lone surrogate", rename(path, "\ud800")


def hostile(make: Callable[[int], Any]) -> Iterator[tuple[str, Any]]:
    """Documents made by `make(n)` (fresh identifiers each), each with one hostile change."""
    for n, (name, change) in enumerate(changes(make(0)), start=1):
        doc = make(n)
        change(doc)
        yield name, doc


def raw_json(doc: Any) -> bytes:
    """JSON text of `doc`; lone surrogates become `\\ud800` escapes, as a client could send."""
    return json.dumps(doc).encode()


JSON = {"Content-Type": "application/json"}


@pytest.fixture
def customer(client: TestClient) -> int:
    """An ACME customer (with the default mobile of the builders)."""
    return register(client)


def fresh_customer(client: TestClient, n: int) -> int:
    """A new ACME customer (mobile of its own) that a hostile update may change."""
    return register(
        client,
        {"source": "INSTORE", "identifiers": [{"type": "mobile", "value": mobile(n, 3)}]},
    )


def test_update_by_lookup(client: TestClient) -> None:
    log = LeakLog()
    for n, (name, body) in enumerate(hostile(update_body)):
        fresh_customer(client, n)
        response = client.put(
            "/v2/customers/lookup",
            params=lookup_params(mobile(n, 3)),
            content=raw_json(body),
            headers={**ACME_AUTH, **JSON},
        )
        log.check(response, name)
    log.assert_clean()


def test_update_by_id(client: TestClient) -> None:
    log = LeakLog()
    for n, (name, body) in enumerate(hostile(update_body)):
        customer = fresh_customer(client, n)
        response = client.put(
            f"/v2/customers/{customer}",
            params={"source": "INSTORE"},
            content=raw_json(body),
            headers={**ACME_AUTH, **JSON},
        )
        log.check(response, name)
    log.assert_clean()


def test_registration(client: TestClient) -> None:
    log = LeakLog()
    for name, body in hostile(registration_body):
        response = client.post(
            "/v2/customers", content=raw_json(body), headers={**ACME_AUTH, **JSON}
        )
        log.check(response, name)
    log.assert_clean()


def test_org_document(client: TestClient) -> None:
    code = new_org_code("leak")

    def document(n: int) -> dict[str, Any]:
        return acme_doc(
            name="Leak Test",
            tills=[{"code": f"{code}.till", "password": PASSWORD}],
            oauthClients=[
                {"key": f"{code}-client", "secret": "leak-test-secret", "till": f"{code}.till"}
            ],
        )

    log = LeakLog()
    for name, body in hostile(document):
        response = client.put(
            f"/admin/orgs/{code}", content=raw_json(body), headers={**ADMIN, **JSON}
        )
        log.check(response, name)
    log.assert_clean()


def test_token_request(client: TestClient, database_url: str) -> None:
    # Refusals are authentication failures: on an app of its own, so they throttle nothing.
    log = LeakLog()
    with own_app(database_url, limit=0) as own:
        for name, body in hostile(lambda n: {"key": "acme-backend", "secret": "s" * 20}):
            response = own.http.post(
                "/v3/oauth/token/generate", content=raw_json(body), headers=JSON
            )
            log.check(response, name)
    log.assert_clean()


# Sent percent-encoded as they are, so that bytes no client library would send still arrive:
# NUL, invalid UTF-8 (a lone surrogate's encoding, a stray 0xFF), controls.
HOSTILE_ENCODED = [
    "%00",
    "a%00b",
    "%ED%A0%80",
    "%FF",
    "%07%1B",
    "x" * 5000,
    "%27%20OR%20%271%27%3D%271",
    "%E2%80%AE",
]
HOSTILE_IDS = [
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999999",
    "-1",
    "0",
    "1e3",
    "0x10",
    "%D9%A1%D9%A2%D9%A3",  # Arabic-Indic digits: str.isdigit() is True for them
    "%C2%B2",  # a superscript two: str.isdigit() is True, int() refuses it
    "%EF%BC%91",  # a full-width one: int() accepts it
    "1%00",
    "%201",
]


def test_query_parameters(client: TestClient, customer: int) -> None:
    log = LeakLog()
    base = {**lookup_params(), "accountId": "app1", "dryRun": "false"}
    for name in ("source", "identifierName", "identifierValue", "accountId", "dryRun"):
        for value in HOSTILE_ENCODED:
            query = "&".join(f"{k}={value if k == name else quote(v)}" for k, v in base.items())
            for method, path in (
                ("GET", "/v2/customers/lookup"),
                ("GET", "/v2/customers/lookup/customerDetails"),
                ("GET", "/v2/customers/lookup/loyaltyDetails"),
                ("PUT", "/v2/customers/lookup"),
                ("GET", f"/v2/customers/{customer}"),
                ("PUT", f"/v2/customers/{customer}"),
            ):
                response = client.request(method, f"{path}?{query}", json={}, headers=ACME_AUTH)
                log.check(response, f"{method} {path} {name}={value[:30]}")
    for value in [*HOSTILE_ENCODED, *HOSTILE_IDS, str(2**70)]:
        for name in ("limit", "cursor"):
            path = f"/v2/customers/{customer}/changes?{name}={value}"
            log.check(client.get(path, headers=ACME_AUTH), path[:80])
        for path in (
            f"/v2/customers/{customer}/loyaltyDetails?programId={value}",
            f"/v2/customers/{customer}?embed={value}",
            f"/v2/customers/lookup/customerDetails?{urlencode(lookup_params())}&embed={value}",
        ):
            log.check(client.get(path, headers=ACME_AUTH), path[:80])
    log.assert_clean()


def test_path_segments(client: TestClient, customer: int) -> None:
    log = LeakLog()
    for raw in [*HOSTILE_IDS, *HOSTILE_ENCODED]:
        for response in (
            client.get(f"/v2/customers/{raw}", headers=ACME_AUTH),
            client.get(f"/v2/customers/{raw}?source=ALL", headers=ACME_AUTH),
            client.put(
                f"/v2/customers/{raw}?source=INSTORE",
                json={"profiles": [{"firstName": "X"}]},
                headers=ACME_AUTH,
            ),
            client.get(f"/v2/customers/{raw}/changes", headers=ACME_AUTH),
            client.get(f"/v2/customers/{raw}/loyaltyDetails", headers=ACME_AUTH),
            client.get(f"/v2/customers/{raw}/pointsExpirySchedule", headers=ACME_AUTH),
            client.get(f"/admin/orgs/{raw}", headers=ADMIN),
            client.put(f"/admin/orgs/{raw}", json=acme_doc(), headers=ADMIN),
        ):
            request = response.request
            log.check(response, f"{request.method} {str(request.url)[:100]}")
    log.assert_clean()


def test_credential_headers(client: TestClient, database_url: str) -> None:
    # Header values are latin-1 bytes; NUL cannot be sent, every other byte can.
    log = LeakLog()
    values = [b"\xff" * 100, b"Basic " + b"\xe9" * 50, b"x" * 9000, b"Bearer \xff", b"Basic \x7f"]
    with own_app(database_url, limit=0) as own:
        for value in values:
            for header in ("Authorization", "X-CAP-API-OAUTH-TOKEN"):
                for path in ("/v2/customers/lookup", "/admin/orgs/acme"):
                    response = own.http.get(path, params=lookup_params(), headers={header: value})
                    log.check(response, f"{path} {header}: {value[:20]!r}")
    log.assert_clean()


def test_an_unexpected_fault_is_a_bare_500(client: TestClient, database_url: str) -> None:
    # The last line of defence: whatever escapes every handler is logged, never shown.
    with own_app(database_url) as own:

        async def broken() -> None:
            raise RuntimeError('SELECT password_hash FROM tills -- File "/srv/patron.py"')

        own.app.add_api_route("/broken", broken)
        response = own.http.get("/broken")
    assert response.status_code == 500
    assert response.json() == {
        "errors": [{"code": 8113, "message": "Internal error", "status": False}],
        "warnings": [],
    }
