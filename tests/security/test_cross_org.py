"""Cross-org access on every route: another org's data looks exactly like no data at all.

The routes are enumerated from the application itself, so a new route fails
`test_every_route_is_covered` until it is given a cross-org probe here. Each probe calls its
route with a valid credential of another org (GLOBEX's Basic credential, and an OAuth token of
a third org) aimed at an ACME customer, then aimed at a customer that exists nowhere: the two
answers must be identical (status, body, headers but the request id), and ACME's data must be
unchanged. Admin routes refuse every till credential with the 401 of no credential at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.testclient import TestClient

from tests.auth.support import apply_org, org_doc
from tests.builders import codes, lookup_params, register
from tests.conftest import ACME_AUTH, GLOBEX_AUTH, new_org_code, table_counts
from tests.security.support import own_app, same_answer

UPDATE = {"profiles": [{"firstName": "Mallory"}]}


@dataclass(frozen=True)
class Target:
    """What a probe aims at: a customer id, its identifiers, and an Idempotency-Key."""

    customer_id: str
    mobile: str
    email: str
    external_id: str
    idempotency_key: str


NOWHERE = Target("987654321", "919999000999", "nobody@nowhere.example", "ext-nowhere", "fresh")
ACME_IDS = {"mobile": "919999000001", "email": "alice@acme.example", "external_id": "ext-alice"}
ACME_KEY = "key-acme-used"  # an Idempotency-Key ACME has used for the very same requests

Probe = Callable[[TestClient, dict[str, str], Target], list[httpx.Response]]


def _lookups(t: Target) -> list[dict[str, str]]:
    return [
        lookup_params(t.mobile),
        lookup_params(t.mobile, source="ALL"),
        lookup_params(t.email, name="email"),
        lookup_params(t.external_id, name="externalId"),
    ]


def probe_lookup(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    return [c.get("/v2/customers/lookup", params=p, headers=auth) for p in _lookups(t)]


def probe_details_by_lookup(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    return [
        c.get("/v2/customers/lookup/customerDetails", params=p, headers=auth) for p in _lookups(t)
    ]


def _write_variants(t: Target, auth: dict[str, str]) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(extra query, headers) of the write probes: plain, dry run, If-Match, Idempotency-Key."""
    return [
        ({}, auth),
        ({"dryRun": "true"}, auth),
        ({}, {**auth, "If-Match": '"1"'}),
        ({}, {**auth, "If-Match": "*"}),
        ({}, {**auth, "Idempotency-Key": t.idempotency_key}),
    ]


def probe_update_by_lookup(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    return [
        c.put(
            "/v2/customers/lookup",
            params={**lookup_params(t.mobile), **extra},
            json=UPDATE,
            headers=headers,
        )
        for extra, headers in _write_variants(t, auth)
    ]


def probe_details(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    path = f"/v2/customers/{t.customer_id}"
    return [
        c.get(path, headers=auth),
        c.get(path, params={"source": "ALL"}, headers=auth),
        c.get(path, params={"source": "INSTORE"}, headers=auth),
    ]


def probe_update(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    return [
        c.put(
            f"/v2/customers/{t.customer_id}",
            params={"source": "INSTORE", **extra},
            json=UPDATE,
            headers=headers,
        )
        for extra, headers in _write_variants(t, auth)
    ]


def probe_changes(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    path = f"/v2/customers/{t.customer_id}/changes"
    return [
        c.get(path, headers=auth),
        c.get(path, params={"limit": 100, "cursor": "2"}, headers=auth),
    ]


def probe_change_identifier(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    body = {
        "remove": [{"type": "mobile", "value": t.mobile}],
        "add": [{"type": "email", "value": "mallory@evil.example"}],
    }
    return [
        c.post(
            f"/v2/customers/{t.customer_id}/changeIdentifier",
            params={"source": "INSTORE", **extra},
            json=body,
            headers=headers,
        )
        for extra, headers in _write_variants(t, auth)
    ]


def probe_loyalty_details(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    path = f"/v2/customers/{t.customer_id}/loyaltyDetails"
    return [
        c.get(path, headers=auth),
        c.get(path, params={"programId": "1016"}, headers=auth),
        c.get(f"/v2/customers/{t.customer_id}", params={"embed": "points,mlp"}, headers=auth),
    ]


def probe_loyalty_by_lookup(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    return [
        c.get("/v2/customers/lookup/loyaltyDetails", params=p, headers=auth) for p in _lookups(t)
    ]


def probe_expiry_schedule(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    return [c.get(f"/v2/customers/{t.customer_id}/pointsExpirySchedule", headers=auth)]


CONSENT = {"subscriptions": [{"channel": "EMAIL", "priority": "BULK", "type": "OPTOUT"}]}


def probe_subscriptions(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    return [
        c.get(f"/v2/customers/{t.customer_id}/subscriptions", headers=auth),
        c.get(f"/v2/customers/{t.customer_id}", params={"embed": "subscriptions"}, headers=auth),
    ]


def probe_subscriptions_by_lookup(
    c: TestClient, auth: dict[str, str], t: Target
) -> list[httpx.Response]:
    return [
        c.get("/v2/customers/lookup/subscriptions", params=p, headers=auth) for p in _lookups(t)
    ]


def probe_change_subscriptions(
    c: TestClient, auth: dict[str, str], t: Target
) -> list[httpx.Response]:
    return [
        c.post(
            f"/v2/customers/{t.customer_id}/subscriptions",
            params=extra,
            json=CONSENT,
            headers=headers,
        )
        for extra, headers in _write_variants(t, auth)
    ]


def probe_change_subscriptions_by_lookup(
    c: TestClient, auth: dict[str, str], t: Target
) -> list[httpx.Response]:
    return [
        c.post(
            "/v2/customers/lookup/subscriptions",
            params={**lookup_params(t.mobile), **extra},
            json=CONSENT,
            headers=headers,
        )
        for extra, headers in _write_variants(t, auth)
    ]


def _registration(t: Target) -> dict[str, Any]:
    identifiers = [
        {"type": "mobile", "value": t.mobile},
        {"type": "email", "value": t.email},
        {"type": "externalId", "value": t.external_id},
    ]
    return {"profiles": [{"source": "INSTORE", "identifiers": identifiers}]}


def probe_register(c: TestClient, auth: dict[str, str], t: Target) -> list[httpx.Response]:
    # Registration looks nothing up: ACME's identifiers must be as free as unused ones (no
    # 409 hinting that another org holds them), and ACME's Idempotency-Key must not replay
    # ACME's answer. Dry runs only, so that both targets meet the same (empty) org.
    body = _registration(t)
    return [
        c.post("/v2/customers", params={"dryRun": "true"}, json=body, headers=auth),
        c.post(
            "/v2/customers",
            params={"dryRun": "true"},
            json=body,
            headers={**auth, "Idempotency-Key": t.idempotency_key},
        ),
    ]


CUSTOMER_ROUTES: dict[tuple[str, str], Probe] = {
    ("GET", "/v2/customers/lookup"): probe_lookup,
    ("GET", "/v2/customers/lookup/customerDetails"): probe_details_by_lookup,
    ("PUT", "/v2/customers/lookup"): probe_update_by_lookup,
    ("GET", "/v2/customers/{customer_id}"): probe_details,
    ("PUT", "/v2/customers/{customer_id}"): probe_update,
    ("GET", "/v2/customers/{customer_id}/changes"): probe_changes,
    ("POST", "/v2/customers/{customer_id}/changeIdentifier"): probe_change_identifier,
    ("POST", "/v2/customers"): probe_register,
    ("GET", "/v2/customers/{customer_id}/loyaltyDetails"): probe_loyalty_details,
    ("GET", "/v2/customers/lookup/loyaltyDetails"): probe_loyalty_by_lookup,
    ("GET", "/v2/customers/{customer_id}/pointsExpirySchedule"): probe_expiry_schedule,
    ("GET", "/v2/customers/{customer_id}/subscriptions"): probe_subscriptions,
    ("GET", "/v2/customers/lookup/subscriptions"): probe_subscriptions_by_lookup,
    ("POST", "/v2/customers/{customer_id}/subscriptions"): probe_change_subscriptions,
    ("POST", "/v2/customers/lookup/subscriptions"): probe_change_subscriptions_by_lookup,
}
ADMIN_ROUTES = {("GET", "/admin/orgs/{orgCode}"), ("PUT", "/admin/orgs/{orgCode}")}
TOKEN_ROUTE = ("POST", "/v3/oauth/token/generate")
PUBLIC_ROUTES = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/metrics"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
}
"""Documentation and operator routes: served to anyone, they hold no customer data."""
CONSOLE_ROUTES = {
    ("GET", "/console"),
    ("GET", "/console/sign-in"),
    ("POST", "/console/sign-in"),
    ("POST", "/console/sign-out"),
    ("GET", "/console/static/{name}"),
    ("GET", "/console/customers/{customer_id}"),
    ("GET", "/console/customers/{customer_id}/edit"),
    ("POST", "/console/customers/{customer_id}/edit"),
    ("POST", "/console/customers/{customer_id}/consent"),
    ("POST", "/console/customers/{customer_id}/identifier"),
}
"""The member-care console: a till's credential opens none of it (below); tests/console shows
that a console user of one org finds another org's customer nowhere."""


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the application answers (HEAD, Starlette's twin of GET, aside)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        assert route.methods, f"{route.path}: a route without methods (a mount?) is not probed"
        for method in route.methods - {"HEAD"}:
            found.add((method, str(route.path)))
    return found


def test_every_route_is_covered(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    covered = set(CUSTOMER_ROUTES) | ADMIN_ROUTES | {TOKEN_ROUTE} | PUBLIC_ROUTES | CONSOLE_ROUTES
    assert app_routes(app) == covered, "give every new route a cross-org probe in this file"


def test_a_till_credential_opens_no_console_page(client: TestClient, acme_target: Target) -> None:
    # The console knows only its own session cookie: another org's till, and ACME's own, are
    # answered exactly as no credential at all, with the way to the sign-in page.
    cid = acme_target.customer_id
    for method, path in sorted(CONSOLE_ROUTES):
        if path in ("/console/sign-in", "/console/static/{name}"):
            continue
        url = path.replace("{customer_id}", cid)
        answers = [
            client.request(method, url, headers=auth, follow_redirects=False)
            for auth in (GLOBEX_AUTH, ACME_AUTH, {})
        ]
        assert {(a.status_code, a.headers.get("location")) for a in answers} == {
            (303, "/console/sign-in")
        }, url
        assert not any(ACME_IDS["mobile"] in a.text for a in answers)


@pytest.fixture
def acme_target(client: TestClient) -> Target:
    """An ACME customer with a history, and an Idempotency-Key ACME used for every probe."""
    acme = {"mobile": ACME_IDS["mobile"], "email": ACME_IDS["email"]}
    cid = register(
        client,
        {
            "source": "INSTORE",
            "identifiers": [
                {"type": "mobile", "value": acme["mobile"]},
                {"type": "email", "value": acme["email"]},
                {"type": "externalId", "value": ACME_IDS["external_id"]},
            ],
        },
        loyaltyProgramEnrollments=[{"programId": 1016, "tierNumber": 1}],
    )
    target = Target(str(cid), **ACME_IDS, idempotency_key=ACME_KEY)
    keyed = {**ACME_AUTH, "Idempotency-Key": ACME_KEY}
    # ACME's own uses of the key, with the exact requests the probes will send.
    for response in (
        client.post(f"/v2/customers/{cid}/subscriptions", json=CONSENT, headers=keyed),
        client.post(
            "/v2/customers/lookup/subscriptions",
            params=lookup_params(target.mobile),
            json=CONSENT,
            headers=keyed,
        ),
        client.put(
            "/v2/customers/lookup",
            params=lookup_params(target.mobile),
            json=UPDATE,
            headers=keyed,
        ),
        client.post(
            "/v2/customers",
            params={"dryRun": "true"},
            json=_registration(target),
            headers=keyed,
        ),
    ):
        assert response.status_code < 500, response.text
    return target


@pytest.fixture(scope="module")
def third_org_token(app_client: TestClient) -> dict[str, str]:
    """The OAuth header of a till of a third org (besides GLOBEX's Basic credential)."""
    code = new_org_code("third")
    client_doc = {"key": f"{code}-client", "secret": "third-org-secret", "till": f"{code}.till"}
    apply_org(app_client, code, org_doc(code, clients=[client_doc]))
    response = app_client.post(
        "/v3/oauth/token/generate",
        json={"key": client_doc["key"], "secret": client_doc["secret"]},
    )
    assert response.status_code == 200, response.text
    return {"X-CAP-API-OAUTH-TOKEN": response.json()["data"]["accessToken"]}


@pytest.fixture(params=["globex basic", "third-org oauth token"])
def other_org(request: pytest.FixtureRequest, third_org_token: dict[str, str]) -> dict[str, str]:
    """A valid credential of an org that is not ACME."""
    return GLOBEX_AUTH if request.param == "globex basic" else third_org_token


def masked(response: httpx.Response, target: Target) -> tuple[int, str, list[tuple[str, str]]]:
    """Status, body with the target's identifiers replaced by placeholders, and headers."""
    text = response.text
    for name in ("mobile", "email", "external_id"):
        text = text.replace(getattr(target, name), f"<{name}>")
    skip = {"x-request-id", "content-length"}  # the placeholders change the length
    headers = sorted((k, v) for k, v in response.headers.items() if k not in skip)
    return response.status_code, text, headers


def acme_state(client: TestClient, target: Target) -> Any:
    """Everything that would show a change to ACME's data."""
    details = client.get(f"/v2/customers/{target.customer_id}", headers=ACME_AUTH)
    history = client.get(f"/v2/customers/{target.customer_id}/changes", headers=ACME_AUTH)
    assert details.status_code == history.status_code == 200
    return table_counts(client), details.json(), details.headers["etag"], history.json()


@pytest.mark.parametrize("route", list(CUSTOMER_ROUTES), ids=[" ".join(r) for r in CUSTOMER_ROUTES])
def test_another_orgs_customer_looks_exactly_like_no_customer(
    client: TestClient,
    acme_target: Target,
    other_org: dict[str, str],
    route: tuple[str, str],
) -> None:
    probe = CUSTOMER_ROUTES[route]
    before = acme_state(client, acme_target)
    aimed = probe(client, other_org, acme_target)
    # The org's own counts move with what the probes did to it (dry runs: nothing), so the
    # reference is taken after them: ACME's data is compared separately below.
    nowhere = probe(client, other_org, NOWHERE)
    assert len(aimed) == len(nowhere)
    for n, (a, b) in enumerate(zip(aimed, nowhere, strict=True)):
        if route != ("POST", "/v2/customers"):
            assert same_answer(a, b), (n, a.status_code, a.text, b.status_code, b.text)
            assert a.status_code == 404 and codes(a) == [8015], (n, a.text)
        else:
            # A dry run echoes the identifiers it would add: they are all that may differ.
            assert masked(a, acme_target) == masked(b, NOWHERE), (n, a.text, b.text)
            assert a.status_code == 200 and a.json()["createdId"] is None, (n, a.text)
    assert acme_state(client, acme_target) == before


def test_acme_sees_its_own_customer(client: TestClient, acme_target: Target) -> None:
    # The positive control: the probes above would find this customer with ACME's credential.
    for route, probe in CUSTOMER_ROUTES.items():
        if route[0] == "GET":
            for response in probe(client, ACME_AUTH, acme_target):
                assert response.status_code == 200, (route, response.text)


def test_customer_routes_need_a_credential(client: TestClient, acme_target: Target) -> None:
    for route, probe in CUSTOMER_ROUTES.items():
        for response in probe(client, {}, acme_target):
            assert response.status_code == 401, (route, response.text)
            assert codes(response) == [8110]


def test_admin_routes_refuse_till_credentials(
    client: TestClient, third_org_token: dict[str, str]
) -> None:
    doc = org_doc("acme")
    credentials = {
        "acme basic": ACME_AUTH,
        "globex basic": GLOBEX_AUTH,
        "oauth token": third_org_token,
        "acme basic and token": {**ACME_AUTH, **third_org_token},
    }
    for path in ("/admin/orgs/acme", "/admin/orgs/globex", "/admin/orgs/no-such-org"):
        references = {
            "GET": client.get(path),
            "PUT": client.put(path, json=doc),
        }
        for method, reference in references.items():
            assert reference.status_code == 401
            for name, headers in credentials.items():
                response = client.request(method, path, json=doc, headers=headers)
                assert same_answer(response, reference), (method, path, name, response.text)
    acme = client.get("/admin/orgs/acme", headers={"Authorization": "Bearer test-admin-token"})
    assert acme.json()["name"] == "Acme Retail"  # the PUTs changed nothing


def test_token_route_gives_no_token_for_another_orgs_client(
    client: TestClient, database_url: str, third_org_token: dict[str, str]
) -> None:
    url = "/v3/oauth/token/generate"
    # Failures on purpose: on an app of its own, so that they throttle nothing shared.
    with own_app(database_url, limit=0) as own:
        reference = own.http.post(url, json={"key": "no-such-client", "secret": "x" * 18})
        assert reference.status_code == 401
        for headers in ({}, GLOBEX_AUTH, third_org_token):
            # ACME's key with a secret of another org, sent with another org's credential.
            response = own.http.post(
                url, json={"key": "acme-backend", "secret": "third-org-secret"}, headers=headers
            )
            assert same_answer(response, reference), response.text


def test_public_routes_hold_no_data(client: TestClient, acme_target: Target) -> None:
    for method, path in sorted(PUBLIC_ROUTES):
        response = client.request(method, path)
        assert response.status_code == 200, path
        for value in ACME_IDS.values():
            assert value not in response.text
