"""Failed authentication is slowed down without locking out honest callers (SPEC section 4).

Failures count per (credential, client address), per address across credentials (spraying), and
for the admin token apart; the tests over HTTP run on an app of their own whose throttle clock
stands still until moved, with callers at chosen addresses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from patron.addresses import AddressSet
from patron.app import create_app
from patron.auth import service
from patron.auth.counters import FailureCounter
from patron.auth.throttle import (
    THROTTLED_MESSAGE,
    AuthThrottle,
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
    PASSWORD,
    basic,
    make_settings,
    new_org_code,
)
from tests.security.support import Clock, OwnApp, from_address, own_app

LIMIT = 3
ADDRESS_LIMIT = 10
"""The guarded app's per-address limit: small, so that tests reach it quickly."""
SPRAY_LIMIT = 100
"""The default per-address limit, which the spray test uses."""
WINDOW = 60.0
A, B, C = "198.51.100.10", "198.51.100.20", "2001:db8::30"
TOKEN_URL = "/v3/oauth/token/generate"
ACME_CLIENT = {"key": "acme-backend", "secret": "long-random-secret"}
THROTTLED_BODY = {
    "errors": [{"code": AUTH_THROTTLED.code, "message": THROTTLED_MESSAGE, "status": False}],
    "warnings": [],
}
TILL = till_key("t")

# --- the counters on their own --------------------------------------------------------------


def refused(throttle: AuthThrottle, credential: tuple[str, str] | None, address: str) -> bool:
    """Whether `credential` is refused from `address` right now."""
    try:
        throttle.check(credential, address)
    except Throttled:
        return True
    return False


def test_attempts_up_to_the_limit_pass_then_the_credential_is_refused_there() -> None:
    throttle = AuthThrottle(LIMIT, WINDOW, clock=Clock())
    for _ in range(LIMIT):
        throttle.check(TILL, A)
        throttle.failed(TILL, A)
    with pytest.raises(Throttled) as caught:
        throttle.check(TILL, A)
    assert caught.value.status == 429
    assert [p.entry for p in caught.value.errors] == [AUTH_THROTTLED]
    assert not refused(throttle, TILL, B)  # the same credential elsewhere
    assert not refused(throttle, till_key("other"), A)  # another credential there


def test_refusal_lasts_for_the_rest_of_the_window_and_says_how_long() -> None:
    clock = Clock()
    throttle = AuthThrottle(LIMIT, WINDOW, clock=clock)
    throttle.failed(TILL, A)  # the window opens here
    clock.advance(10.5)
    throttle.failed(TILL, A)
    throttle.failed(TILL, A)
    with pytest.raises(Throttled) as caught:
        throttle.check(TILL, A)
    assert caught.value.retry_after == 50  # ceil(60 - 10.5)
    assert caught.value.headers == {"Retry-After": "50"}
    clock.advance(49.0)
    with pytest.raises(Throttled) as caught:
        throttle.check(TILL, A)
    assert caught.value.retry_after == 1  # half a second left: never 0 while refused
    clock.advance(0.5)
    throttle.check(TILL, A)  # the window has ended


def test_refused_attempts_neither_count_nor_extend_the_window() -> None:
    clock = Clock()
    throttle = AuthThrottle(LIMIT, WINDOW, clock=clock)
    for _ in range(LIMIT):
        throttle.failed(TILL, A)
    for _ in range(100):
        clock.advance(0.5)
        assert refused(throttle, TILL, A)
    clock.advance(WINDOW - 50)
    throttle.check(TILL, A)


def test_a_new_window_counts_from_zero() -> None:
    clock = Clock()
    throttle = AuthThrottle(LIMIT, WINDOW, clock=clock)
    for _ in range(LIMIT - 1):
        throttle.failed(TILL, A)
    clock.advance(WINDOW)
    for _ in range(LIMIT - 1):
        throttle.failed(TILL, A)
    throttle.check(TILL, A)  # 2 + 2 failures, but never 3 in one window


def test_kinds_of_credentials_do_not_collide() -> None:
    throttle = AuthThrottle(LIMIT, WINDOW, clock=Clock())
    for _ in range(LIMIT):
        throttle.failed(till_key("same"), A)
    throttle.check(oauth_key("same"), A)


def test_past_the_address_limit_only_proven_credentials_pass() -> None:
    throttle = AuthThrottle(LIMIT, WINDOW, address_limit=5, clock=Clock())
    throttle.succeeded(till_key("proven"), A)
    for n in range(5):
        throttle.failed(till_key(f"guess{n}"), A)
    assert not refused(throttle, till_key("proven"), A)
    assert refused(throttle, till_key("unproven"), A)
    assert refused(throttle, None, A)
    assert not refused(throttle, till_key("unproven"), B)


def test_admin_failures_are_counted_apart() -> None:
    throttle = AuthThrottle(LIMIT, WINDOW, address_limit=LIMIT, clock=Clock())
    for _ in range(LIMIT * 5):
        throttle.admin_failed(A)
    assert not refused(throttle, TILL, A)
    with pytest.raises(Throttled):
        throttle.check_admin(A, b"any digest")
    for _ in range(LIMIT):
        throttle.failed(till_key("x"), B)
    throttle.check_admin(B, b"any digest")


def test_the_allowlist_is_never_counted_nor_refused() -> None:
    allowlist = AddressSet.parse("198.51.100.0/24")
    throttle = AuthThrottle(LIMIT, WINDOW, address_limit=LIMIT, allowlist=allowlist)
    for _ in range(LIMIT * 10):
        throttle.failed(TILL, A)
        throttle.admin_failed(A)
    assert throttle.counters() == 0
    throttle.failed(TILL, C)  # outside the range: counted
    assert throttle.counters() == 2


def test_limit_zero_never_throttles() -> None:
    throttle = AuthThrottle(0, WINDOW, address_limit=ADDRESS_LIMIT, clock=Clock())
    for _ in range(1000):
        throttle.failed(TILL, A)
        throttle.admin_failed(A)
    throttle.check(TILL, A)
    assert throttle.held() == 0


def test_counters_and_proofs_are_bounded() -> None:
    throttle = AuthThrottle(LIMIT, WINDOW, address_limit=LIMIT, max_keys=100, clock=Clock())
    for n in range(1000):
        address = f"203.0.113.{n % 250}"
        throttle.failed(till_key(f"t{n}"), address)
        throttle.admin_failed(f"192.0.2.{n % 250}")
        throttle.succeeded(till_key(f"t{n}"), address)
        throttle.admin_succeeded(address, b"digest")
    # Three kinds of counter, their blocked keys and two kinds of proof: each at most 100.
    assert throttle.held() <= 7 * 100


def test_blocked_keys_are_bounded_and_the_latest_are_kept() -> None:
    counter: FailureCounter[str] = FailureCounter(1, WINDOW, 10)
    for n in range(50):
        counter.count(f"k{n}", 1000 + n / 100)
    assert len(counter.blocked) == 10
    assert counter.blocked_for("k49", 1001) > 0
    assert counter.blocked_for("k0", 1001) == 0


def test_blocked_keys_are_forgotten_when_their_window_ends() -> None:
    clock = Clock()
    throttle = AuthThrottle(1, WINDOW, clock=clock)
    for n in range(20):
        throttle.failed(till_key(f"t{n}"), A)
    assert throttle.throttled() == 20
    clock.advance(WINDOW)
    # Keys that never come back are dropped too, so the hot path is free again.
    assert throttle.throttled() == 0


def test_bad_parameters_are_refused() -> None:
    for args in ((-1, WINDOW), (LIMIT, 0.0)):
        with pytest.raises(ValueError):
            AuthThrottle(*args)
    with pytest.raises(ValueError):
        AuthThrottle(LIMIT, WINDOW, max_keys=0)
    with pytest.raises(ValueError):
        AuthThrottle(LIMIT, WINDOW, address_limit=-1)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAILURE_LIMIT", "FAILURE_WINDOW_SECONDS", "ADDRESS_FAILURE_LIMIT", "ALLOWLIST"):
        monkeypatch.delenv(f"PATRON_AUTH_{name}", raising=False)
    defaults = Settings()
    assert (defaults.auth_failure_limit, defaults.auth_failure_window_seconds) == (10, 60.0)
    assert (defaults.auth_address_failure_limit, defaults.auth_allowlist) == (100, "")
    monkeypatch.setenv("PATRON_AUTH_FAILURE_LIMIT", "7")
    monkeypatch.setenv("PATRON_AUTH_FAILURE_WINDOW_SECONDS", "30")
    monkeypatch.setenv("PATRON_AUTH_ADDRESS_FAILURE_LIMIT", "40")
    monkeypatch.setenv("PATRON_AUTH_ALLOWLIST", " 10.0.0.0/8, 192.0.2.7 ")
    settings = Settings()
    assert (settings.auth_failure_limit, settings.auth_failure_window_seconds) == (7, 30.0)
    assert settings.auth_address_failure_limit == 40
    assert settings.auth_allowlist == "10.0.0.0/8,192.0.2.7/32"
    monkeypatch.setenv("PATRON_AUTH_ALLOWLIST", "10.0.0.0/33")
    with pytest.raises(ValueError):
        Settings()


# --- through HTTP -----------------------------------------------------------------------


@pytest.fixture
def guarded(client: TestClient, database_url: str) -> Iterator[OwnApp]:
    """An app of its own: LIMIT failures per credential and address, ADDRESS_LIMIT per address."""
    with own_app(
        database_url, limit=LIMIT, address_limit=ADDRESS_LIMIT, window=WINDOW, clock=Clock()
    ) as own:
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
    """The one answer of a refused attempt, whatever the credential, with its Retry-After."""
    assert response.status_code == 429, response.text
    assert response.json() == THROTTLED_BODY
    assert int(response.headers["Retry-After"]) >= 1


def store_tills(own: OwnApp, count: int) -> list[str]:
    """The codes of `count` tills of one new org (one store's terminals), password PASSWORD."""
    code = new_org_code()
    codes = [f"{code}.till{n}" for n in range(count)]
    apply_org(own.http, code, org_doc(code, tills=dict.fromkeys(codes, PASSWORD)))
    return codes


WRONG_ACME = basic("acme.till", "wrong-password")


def test_many_tills_at_one_address_one_guessing_the_others_are_never_refused(
    guarded: OwnApp,
) -> None:
    guessing, *honest = store_tills(guarded, 6)
    answers = []
    for _ in range(20):
        answers.append(lookup(guarded, A, basic(guessing, "wrong")).status_code)
        for till in honest:
            assert lookup(guarded, A, basic(till)).status_code == 404
    assert answers == [401] * LIMIT + [429] * (20 - LIMIT)
    assert_throttled(lookup(guarded, A, basic(guessing)))  # right password, from A: refused
    assert lookup(guarded, B, basic(guessing)).status_code == 404  # the same till elsewhere


def test_a_password_spray_is_slowed_down_and_a_proven_till_keeps_working(
    client: TestClient, database_url: str
) -> None:
    with own_app(database_url, limit=LIMIT, address_limit=SPRAY_LIMIT, window=WINDOW) as own:
        assert lookup(own, A, ACME_AUTH).status_code == 404  # proven from A before the spray
        spray = [lookup(own, A, basic(f"spray.{n}", "Summer2026!")) for n in range(200)]
        answers = [response.status_code for response in spray]
        assert answers == [401] * SPRAY_LIMIT + [429] * (200 - SPRAY_LIMIT)
        assert_throttled(spray[-1])
        assert lookup(own, A, ACME_AUTH).status_code == 404  # proven: keeps working
        assert_throttled(lookup(own, A, GLOBEX_AUTH))  # right, but never proven from A
        assert_throttled(lookup(own, A, {"Authorization": "Basic !!!"}))
        assert lookup(own, B, GLOBEX_AUTH).status_code == 404  # another address is untouched
        own.clock.advance(WINDOW)
        assert lookup(own, A, GLOBEX_AUTH).status_code == 404  # the window has ended


def test_a_proven_till_that_guesses_is_still_refused_there(guarded: OwnApp) -> None:
    assert lookup(guarded, A, ACME_AUTH).status_code == 404
    for _ in range(LIMIT):
        assert lookup(guarded, A, WRONG_ACME).status_code == 401
    assert_throttled(lookup(guarded, A, ACME_AUTH))
    assert lookup(guarded, B, ACME_AUTH).status_code == 404


def test_an_admin_script_with_a_wrong_token_does_not_throttle_tills(guarded: OwnApp) -> None:
    wrong = {"Authorization": "Bearer stale-token"}
    for _ in range(ADDRESS_LIMIT + LIMIT):
        assert admin(guarded, A, wrong).status_code in (401, 429)
    assert_throttled(admin(guarded, A, ADMIN))  # the admin token was never proven from A
    assert lookup(guarded, A, ACME_AUTH).status_code == 404
    assert token(guarded, A, **ACME_CLIENT).status_code == 200
    assert admin(guarded, B, ADMIN).status_code == 200


def test_till_failures_do_not_throttle_the_admin_token(guarded: OwnApp) -> None:
    for n in range(ADDRESS_LIMIT + LIMIT):
        lookup(guarded, A, basic(f"no.such.till.{n}"))
    assert_throttled(lookup(guarded, A, GLOBEX_AUTH))
    assert admin(guarded, A, ADMIN).status_code == 200


def test_past_the_admin_limit_only_the_token_proven_there_passes(guarded: OwnApp) -> None:
    assert admin(guarded, A, ADMIN).status_code == 200  # the script worked from A before
    wrong = {"Authorization": "Bearer not-the-token"}
    for _ in range(LIMIT):
        assert admin(guarded, A, wrong).status_code == 401
        assert admin(guarded, B, wrong).status_code == 401
    assert admin(guarded, A, ADMIN).status_code == 200
    assert_throttled(admin(guarded, A, wrong))
    assert_throttled(admin(guarded, B, ADMIN))  # right, but never proven from B


def test_no_credential_is_always_401_never_counted_nor_refused(guarded: OwnApp) -> None:
    for n in range(ADDRESS_LIMIT):
        lookup(guarded, A, basic(f"no.such.till.{n}"))
    for _ in range(LIMIT):
        admin(guarded, A, {"Authorization": "Bearer wrong"})
    assert_throttled(lookup(guarded, A, GLOBEX_AUTH))
    for headers in ({}, {"Authorization": ""}, {"X-CAP-API-OAUTH-TOKEN": " "}):
        for _ in range(ADDRESS_LIMIT):
            assert lookup(guarded, B, headers).status_code == 401
        assert lookup(guarded, A, headers).status_code == 401
    for headers in ({}, ACME_AUTH, {"Authorization": ADMIN_TOKEN}):
        assert admin(guarded, A, headers).status_code == 401
    assert lookup(guarded, B, GLOBEX_AUTH).status_code == 404  # B's requests counted nothing


def test_the_allowlist_is_never_throttled(client: TestClient, database_url: str) -> None:
    with own_app(
        database_url, limit=LIMIT, address_limit=LIMIT, allowlist="198.51.100.0/24"
    ) as own:
        for n in range(LIMIT * 4):
            assert lookup(own, A, basic(f"no.such.till.{n}")).status_code == 401
            assert lookup(own, A, WRONG_ACME).status_code == 401
            assert admin(own, A, {"Authorization": "Bearer wrong"}).status_code == 401
        assert lookup(own, A, GLOBEX_AUTH).status_code == 404
        assert admin(own, A, ADMIN).status_code == 200
        for _ in range(LIMIT):
            lookup(own, C, WRONG_ACME)  # outside the allowlist: throttled as usual
        assert_throttled(lookup(own, C, ACME_AUTH))


def test_the_counters_stay_within_their_bound(client: TestClient, database_url: str) -> None:
    bound = 10
    with own_app(database_url, limit=LIMIT, address_limit=LIMIT, max_keys=bound) as own:
        for n in range(4 * bound):
            address = f"203.0.113.{n}"
            lookup(own, address, basic(f"no.such.till.{n}"))
            admin(own, address, {"Authorization": "Bearer wrong"})
            lookup(own, address, GLOBEX_AUTH)
            admin(own, address, ADMIN)
        assert own.throttle.held() <= 7 * bound
        assert own.throttle.counters() == 3 * bound


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
    for n in range(ADDRESS_LIMIT):
        lookup(guarded, A, basic(f"no.such.till.{n}"))
    spent = dict(calls)
    assert spent["burn"] == ADDRESS_LIMIT  # unknown tills spend a dummy verification...
    code = new_org_code()
    fresh = basic(f"{code}.till")
    apply_org(guarded.http, code, org_doc(code))
    for _ in range(5):
        assert_throttled(lookup(guarded, A, fresh))  # ...refused ones spend nothing
        assert_throttled(lookup(guarded, A, basic("no.such.till")))
    assert calls == spent


def test_oauth_tokens_keep_working_and_bad_ones_count_against_the_address(
    guarded: OwnApp,
) -> None:
    valid = token(guarded, B, **ACME_CLIENT).json()["data"]["accessToken"]
    for _ in range(ADDRESS_LIMIT):
        response = lookup(guarded, A, {"X-CAP-API-OAUTH-TOKEN": "not-a-token"})
        assert response.status_code == 401
    assert_throttled(lookup(guarded, A, {"X-CAP-API-OAUTH-TOKEN": "not-a-token"}))
    assert_throttled(lookup(guarded, A, ACME_AUTH))  # never proven from A
    # A genuine token can only be had through the throttled token route: never refused.
    assert lookup(guarded, A, {"X-CAP-API-OAUTH-TOKEN": valid}).status_code == 404


def test_token_route_failures_refuse_the_key_from_that_address_only(guarded: OwnApp) -> None:
    code = new_org_code()
    other = {"key": f"{code}-client", "secret": "other-secret"}
    apply_org(guarded.http, code, org_doc(code, clients=[{**other, "till": f"{code}.till"}]))
    for _ in range(LIMIT):
        assert token(guarded, A, "acme-backend", "wrong").status_code == 401
    refused_answer = token(guarded, A, **ACME_CLIENT)  # the right secret, from A
    assert_throttled(refused_answer)
    assert refused_answer.headers["Retry-After"] == str(int(WINDOW))
    assert token(guarded, B, **ACME_CLIENT).status_code == 200  # the key from elsewhere
    assert token(guarded, A, **other).status_code == 200  # another key from A


def test_token_route_bodies_that_are_not_credentials_are_not_counted(guarded: OwnApp) -> None:
    for _ in range(ADDRESS_LIMIT + 1):
        response = guarded.http.post(TOKEN_URL, json={"key": 1}, headers=from_address(A))
        assert response.status_code == 400
    assert token(guarded, A, **ACME_CLIENT).status_code == 200


def test_every_429_has_the_same_body_and_says_when_to_retry(guarded: OwnApp) -> None:
    for n in range(ADDRESS_LIMIT):
        lookup(guarded, A, basic(f"no.such.till.{n}"))
    for _ in range(LIMIT):
        admin(guarded, A, {"Authorization": "Bearer wrong"})
    guarded.clock.advance(20.2)
    answers = [
        lookup(guarded, A, ACME_AUTH),  # right
        lookup(guarded, A, WRONG_ACME),  # wrong
        lookup(guarded, A, {"X-CAP-API-OAUTH-TOKEN": "x"}),
        token(guarded, A, **ACME_CLIENT),
        token(guarded, A, "acme-backend", "wrong"),
        admin(guarded, A, ADMIN),
        admin(guarded, A, {"Authorization": "Bearer wrong"}),
    ]
    for response in answers:
        assert_throttled(response)
        assert response.headers["Retry-After"] == "40", response.request.url
    assert len({r.content for r in answers}) == 1


def test_the_app_throttle_follows_its_settings(client: TestClient, database_url: str) -> None:
    app = create_app(
        make_settings(
            database_url,
            auth_failure_limit=2,
            auth_failure_window_seconds=30,
            auth_address_failure_limit=7,
        )
    )
    wrong = {"Authorization": "Bearer not-the-token"}
    with TestClient(app) as http:
        assert [http.get("/admin/orgs/acme", headers=wrong).status_code for _ in "ab"] == [401] * 2
        assert http.get("/admin/orgs/acme", headers=ADMIN).status_code == 429
    throttle: AuthThrottle = app.state.authenticator.throttle
    assert (throttle.limit, throttle.window_seconds, throttle.address_limit) == (2, 30.0, 7)


def test_limit_zero_turns_throttling_off(client: TestClient, database_url: str) -> None:
    with own_app(database_url, limit=0, address_limit=ADDRESS_LIMIT) as own:
        for _ in range(LIMIT * 3):
            assert lookup(own, A, WRONG_ACME).status_code == 401
        assert lookup(own, A, ACME_AUTH).status_code == 404
