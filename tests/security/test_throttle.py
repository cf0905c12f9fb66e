"""Repeated failed authentication from one till, OAuth key or address is slowed down (429)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from patron.app import create_app
from patron.auth import service
from patron.auth.throttle import (
    THROTTLED_MESSAGE,
    FailureThrottle,
    Throttled,
    oauth_key,
    till_key,
)
from patron.config import Settings
from patron.errors import AUTH_THROTTLED
from tests.auth.support import apply_org, org_doc
from tests.builders import lookup_params
from tests.conftest import (
    ACME_AUTH,
    ADMIN,
    ADMIN_TOKEN,
    GLOBEX_AUTH,
    basic,
    make_settings,
    new_org_code,
)
from tests.security.support import Clock, OwnApp, from_address, own_app

LIMIT = 3
WINDOW = 60.0
A, B, C = "198.51.100.10", "198.51.100.20", "2001:db8::30"
TOKEN_URL = "/v3/oauth/token/generate"
ACME_CLIENT = {"key": "acme-backend", "secret": "long-random-secret"}
THROTTLED_BODY = {
    "errors": [{"code": AUTH_THROTTLED.code, "message": THROTTLED_MESSAGE, "status": False}],
    "warnings": [],
}

# --- the counter itself ------------------------------------------------------------------


def test_attempts_up_to_the_limit_pass_then_the_key_is_refused() -> None:
    throttle = FailureThrottle(LIMIT, WINDOW, clock=Clock())
    key = till_key("t")
    for _ in range(LIMIT):
        throttle.check(key)
        throttle.failed(key)
    with pytest.raises(Throttled) as caught:
        throttle.check(key)
    assert caught.value.status == 429
    assert [p.entry for p in caught.value.errors] == [AUTH_THROTTLED]


def test_refusal_lasts_for_the_rest_of_the_window_and_says_how_long() -> None:
    clock = Clock()
    throttle = FailureThrottle(LIMIT, WINDOW, clock=clock)
    key = till_key("t")
    throttle.failed(key)  # the window opens here
    clock.advance(10.5)
    throttle.failed(key)
    throttle.failed(key)
    with pytest.raises(Throttled) as caught:
        throttle.check(key)
    assert caught.value.retry_after == 50  # ceil(60 - 10.5)
    assert caught.value.headers == {"Retry-After": "50"}
    clock.advance(49.0)
    with pytest.raises(Throttled) as caught:
        throttle.check(key)
    assert caught.value.retry_after == 1  # half a second left: never 0 while refused
    clock.advance(0.5)
    throttle.check(key)  # the window has ended


def test_refused_attempts_neither_count_nor_extend_the_window() -> None:
    clock = Clock()
    throttle = FailureThrottle(LIMIT, WINDOW, clock=clock)
    key = till_key("t")
    for _ in range(LIMIT):
        throttle.failed(key)
    for _ in range(100):
        clock.advance(0.5)
        with pytest.raises(Throttled):
            throttle.check(key)
    clock.advance(WINDOW - 50)
    throttle.check(key)


def test_a_new_window_counts_from_zero() -> None:
    clock = Clock()
    throttle = FailureThrottle(LIMIT, WINDOW, clock=clock)
    key = till_key("t")
    for _ in range(LIMIT - 1):
        throttle.failed(key)
    clock.advance(WINDOW)
    for _ in range(LIMIT - 1):
        throttle.failed(key)
    throttle.check(key)  # 2 + 2 failures, but never 3 in one window


def test_one_throttled_key_refuses_an_attempt_naming_it() -> None:
    throttle = FailureThrottle(LIMIT, WINDOW, clock=Clock())
    address, till = ("addr", A), till_key("t")
    for _ in range(LIMIT):
        throttle.failed(till)
    throttle.check(address, None)
    with pytest.raises(Throttled):
        throttle.check(address, till)
    with pytest.raises(Throttled):
        throttle.check(None, till)


def test_kinds_of_keys_do_not_collide() -> None:
    throttle = FailureThrottle(LIMIT, WINDOW, clock=Clock())
    for _ in range(LIMIT):
        throttle.failed(till_key("same"))
    throttle.check(oauth_key("same"), ("addr", "same"))


def test_limit_zero_never_throttles() -> None:
    throttle = FailureThrottle(0, WINDOW, clock=Clock())
    for _ in range(1000):
        throttle.failed(till_key("t"))
    throttle.check(till_key("t"))
    assert len(throttle) == 0


def test_counters_are_bounded() -> None:
    throttle = FailureThrottle(LIMIT, WINDOW, max_keys=100, clock=Clock())
    for n in range(1000):
        throttle.failed(till_key(f"t{n}"))
    assert len(throttle) == 100


def test_throttled_keys_are_bounded_and_the_latest_are_kept() -> None:
    clock = Clock()
    throttle = FailureThrottle(1, WINDOW, max_keys=10, clock=clock)
    for n in range(50):
        clock.advance(0.01)
        throttle.failed(till_key(f"t{n}"))
    assert throttle.throttled() == 10
    with pytest.raises(Throttled):
        throttle.check(till_key("t49"))
    throttle.check(till_key("t0"))


def test_throttled_keys_are_forgotten_when_their_window_ends() -> None:
    clock = Clock()
    throttle = FailureThrottle(1, WINDOW, clock=clock)
    for n in range(20):
        throttle.failed(till_key(f"t{n}"))
    assert throttle.throttled() == 20
    clock.advance(WINDOW)
    # Keys that never come back are dropped too, so the hot path is free again.
    assert throttle.throttled() == 0


def test_bad_parameters_are_refused() -> None:
    for args in ((-1, WINDOW), (LIMIT, 0.0)):
        with pytest.raises(ValueError):
            FailureThrottle(*args)
    with pytest.raises(ValueError):
        FailureThrottle(LIMIT, WINDOW, max_keys=0)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATRON_AUTH_FAILURE_LIMIT", raising=False)
    monkeypatch.delenv("PATRON_AUTH_FAILURE_WINDOW_SECONDS", raising=False)
    defaults = Settings()
    assert (defaults.auth_failure_limit, defaults.auth_failure_window_seconds) == (10, 60.0)
    monkeypatch.setenv("PATRON_AUTH_FAILURE_LIMIT", "7")
    monkeypatch.setenv("PATRON_AUTH_FAILURE_WINDOW_SECONDS", "30")
    settings = Settings()
    assert (settings.auth_failure_limit, settings.auth_failure_window_seconds) == (7, 30.0)


# --- through HTTP -----------------------------------------------------------------------


@pytest.fixture
def guarded(client: TestClient, database_url: str) -> Iterator[OwnApp]:
    """An app of its own allowing LIMIT failures per WINDOW, its clock still until moved."""
    with own_app(database_url, limit=LIMIT, window=WINDOW, clock=Clock()) as own:
        yield own


def lookup(own: OwnApp, address: str, auth: dict[str, str]) -> httpx.Response:
    """A read that needs a credential (the customer does not exist: 404 once authenticated)."""
    return own.http.get(
        "/v2/customers/lookup", params=lookup_params(), headers=from_address(address, auth)
    )


def token(own: OwnApp, address: str, key: str, secret: str) -> httpx.Response:
    """POST the token route from `address`."""
    return own.http.post(
        TOKEN_URL, json={"key": key, "secret": secret}, headers=from_address(address)
    )


def admin(own: OwnApp, address: str, headers: dict[str, str]) -> httpx.Response:
    """GET an org through the admin API from `address`."""
    return own.http.get("/admin/orgs/acme", headers=from_address(address, headers))


def assert_throttled(response: httpx.Response) -> None:
    """The one answer of a throttled attempt, whatever the credential."""
    assert response.status_code == 429, response.text
    assert response.json() == THROTTLED_BODY


WRONG_ACME = basic("acme.till", "wrong-password")


def test_basic_failures_throttle_the_till_from_every_address(guarded: OwnApp) -> None:
    for _ in range(LIMIT):
        assert lookup(guarded, A, WRONG_ACME).status_code == 401
    # The right password, from another address: refused all the same, so a guesser cannot
    # tell a right guess from a wrong one while throttled.
    assert_throttled(lookup(guarded, B, ACME_AUTH))
    assert lookup(guarded, B, GLOBEX_AUTH).status_code == 404  # other tills are not affected


def test_basic_failures_throttle_the_address_for_every_till(guarded: OwnApp) -> None:
    for n in range(LIMIT):
        assert lookup(guarded, A, basic(f"no.such.till.{n}")).status_code == 401
    assert_throttled(lookup(guarded, A, GLOBEX_AUTH))
    assert lookup(guarded, B, GLOBEX_AUTH).status_code == 404


def test_malformed_basic_credentials_count_against_the_address(guarded: OwnApp) -> None:
    for _ in range(LIMIT):
        response = lookup(guarded, A, {"Authorization": "Basic !!!"})
        assert response.status_code == 401
    assert_throttled(lookup(guarded, A, ACME_AUTH))


def test_missing_credentials_are_not_counted(guarded: OwnApp) -> None:
    for _ in range(LIMIT * 3):
        assert lookup(guarded, A, {}).status_code == 401
    assert lookup(guarded, A, ACME_AUTH).status_code == 404


def test_throttling_ends_with_the_window(guarded: OwnApp) -> None:
    for _ in range(LIMIT):
        lookup(guarded, A, WRONG_ACME)
    assert_throttled(lookup(guarded, A, ACME_AUTH))
    guarded.clock.advance(WINDOW)
    assert lookup(guarded, A, ACME_AUTH).status_code == 404


def test_a_success_resets_no_counter(guarded: OwnApp) -> None:
    for _ in range(LIMIT - 1):
        assert lookup(guarded, A, WRONG_ACME).status_code == 401
    assert lookup(guarded, B, ACME_AUTH).status_code == 404  # the till itself, elsewhere
    assert lookup(guarded, A, GLOBEX_AUTH).status_code == 404  # a valid credential from A
    assert lookup(guarded, A, WRONG_ACME).status_code == 401  # the LIMIT-th failure
    assert_throttled(lookup(guarded, C, ACME_AUTH))  # the till is throttled
    assert_throttled(lookup(guarded, A, GLOBEX_AUTH))  # and so is address A


def test_throttled_attempts_spend_no_verification(
    guarded: OwnApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"verify": 0, "burn": 0}

    def counted(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            calls[name] += 1
            return fn(*args)

        return wrapper

    monkeypatch.setattr(service, "verify_secret", counted("verify", service.verify_secret))
    monkeypatch.setattr(service, "burn_verification", counted("burn", service.burn_verification))
    for n in range(LIMIT):
        lookup(guarded, A, basic(f"no.such.till.{n}"))
    spent = dict(calls)
    assert spent["burn"] == LIMIT  # unknown tills spend a dummy verification...
    code = new_org_code()
    fresh = basic(f"{code}.till")
    apply_org(guarded.http, code, org_doc(code))
    for _ in range(5):
        assert_throttled(lookup(guarded, A, fresh))  # ...throttled ones spend nothing
        assert_throttled(lookup(guarded, A, basic("no.such.till")))
    assert calls == spent


def test_oauth_token_failures_throttle_the_address(guarded: OwnApp) -> None:
    valid = token(guarded, B, **ACME_CLIENT).json()["data"]["accessToken"]
    for _ in range(LIMIT):
        response = lookup(guarded, A, {"X-CAP-API-OAUTH-TOKEN": "not-a-token"})
        assert response.status_code == 401
    assert_throttled(lookup(guarded, A, {"X-CAP-API-OAUTH-TOKEN": valid}))
    assert_throttled(lookup(guarded, A, ACME_AUTH))
    assert lookup(guarded, B, {"X-CAP-API-OAUTH-TOKEN": valid}).status_code == 404


def test_token_route_failures_throttle_the_key_from_every_address(guarded: OwnApp) -> None:
    code = new_org_code()
    other = {"key": f"{code}-client", "secret": "other-secret"}
    apply_org(
        guarded.http,
        code,
        org_doc(code, clients=[{**other, "till": f"{code}.till"}]),
    )
    for _ in range(LIMIT):
        assert token(guarded, A, "acme-backend", "wrong").status_code == 401
    refused = token(guarded, B, **ACME_CLIENT)  # the right secret, from elsewhere
    assert_throttled(refused)
    assert refused.headers["Retry-After"] == str(int(WINDOW))
    assert_throttled(token(guarded, A, **other))  # address A is throttled too
    assert token(guarded, B, **other).status_code == 200


def test_token_route_bodies_that_are_not_credentials_are_not_counted(guarded: OwnApp) -> None:
    for _ in range(LIMIT * 2):
        response = guarded.http.post(TOKEN_URL, json={"key": 1}, headers=from_address(A))
        assert response.status_code == 400
    assert token(guarded, A, **ACME_CLIENT).status_code == 200


def test_admin_token_failures_throttle_the_address(guarded: OwnApp) -> None:
    wrong = {"Authorization": "Bearer not-the-token"}
    for _ in range(LIMIT):
        assert admin(guarded, A, wrong).status_code == 401
    assert_throttled(admin(guarded, A, ADMIN))
    assert_throttled(lookup(guarded, A, ACME_AUTH))  # one address, one counter
    assert admin(guarded, B, ADMIN).status_code == 200


def test_admin_attempts_without_a_bearer_token_are_not_counted(guarded: OwnApp) -> None:
    for headers in ({}, ACME_AUTH, {"Authorization": ADMIN_TOKEN}) * LIMIT:
        assert admin(guarded, A, headers).status_code == 401
    assert admin(guarded, A, ADMIN).status_code == 200


def test_every_429_has_the_same_body(guarded: OwnApp) -> None:
    for _ in range(LIMIT):
        admin(guarded, A, {"Authorization": "Bearer wrong"})
    answers = [
        lookup(guarded, A, ACME_AUTH),
        lookup(guarded, A, WRONG_ACME),
        lookup(guarded, A, {"X-CAP-API-OAUTH-TOKEN": "x"}),
        token(guarded, A, **ACME_CLIENT),
        admin(guarded, A, ADMIN),
    ]
    for response in answers:
        assert_throttled(response)


def test_every_429_says_when_to_retry(guarded: OwnApp) -> None:
    for _ in range(LIMIT):
        admin(guarded, A, {"Authorization": "Bearer wrong"})
    guarded.clock.advance(20.2)
    for response in (
        lookup(guarded, A, ACME_AUTH),
        lookup(guarded, A, {"X-CAP-API-OAUTH-TOKEN": "x"}),
        token(guarded, A, **ACME_CLIENT),
        admin(guarded, A, ADMIN),
    ):
        assert response.status_code == 429
        assert response.headers.get("Retry-After") == "40", response.request.url


def test_the_app_throttle_follows_its_settings(client: TestClient, database_url: str) -> None:
    app = create_app(
        make_settings(database_url, auth_failure_limit=2, auth_failure_window_seconds=30)
    )
    wrong = {"Authorization": "Bearer not-the-token"}
    with TestClient(app) as http:
        assert [http.get("/admin/orgs/acme", headers=wrong).status_code for _ in "ab"] == [401] * 2
        assert http.get("/admin/orgs/acme", headers=ADMIN).status_code == 429
    throttle: FailureThrottle = app.state.auth_throttle
    assert (throttle.limit, throttle.window_seconds) == (2, 30.0)


def test_limit_zero_turns_throttling_off(client: TestClient, database_url: str) -> None:
    with own_app(database_url, limit=0) as own:
        for _ in range(LIMIT * 3):
            assert lookup(own, A, WRONG_ACME).status_code == 401
        assert lookup(own, A, ACME_AUTH).status_code == 404
