"""The client address: `X-Forwarded-For` believed from trusted proxies only (SPEC section 4).

The address is decided once per request by the middleware, and the same value is the one
throttling counts and the request log line names.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import orjson
import pytest
from starlette.testclient import TestClient

from patron.api.client_address import TrustedProxies
from patron.config import Settings
from patron.observability.logs import ACCESS_LOGGER, APP_LOGGER, JsonFormatter
from tests.builders import lookup_params
from tests.conftest import ACME_AUTH, GLOBEX_AUTH, basic
from tests.live import live_server
from tests.security.support import OwnApp, from_address, own_app

PROXIES = "10.0.0.0/8, 2001:db8:ff::1"
BALANCER, INNER = "10.1.2.3", "2001:db8:ff::1"
CLIENT, OTHER, SPOOF = "203.0.113.7", "198.51.100.9", "192.0.2.66"
LIMIT = 3


def scope(peer: str | None, *forwarded: str) -> dict[str, Any]:
    """An HTTP scope from `peer`, with one `X-Forwarded-For` header per value given."""
    return {
        "type": "http",
        "client": (peer, 50000) if peer is not None else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


TRUSTED = TrustedProxies.parse(PROXIES)


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # An untrusted peer is the client, whatever it writes in the header.
        (CLIENT, (), CLIENT),
        (CLIENT, (SPOOF,), CLIENT),
        (CLIENT, (f"{SPOOF}, {BALANCER}",), CLIENT),
        # A trusted peer without the header is the client (a health check from the balancer).
        (BALANCER, (), BALANCER),
        # A trusted peer's header: its right-most entry that is not one of ours.
        (BALANCER, (CLIENT,), CLIENT),
        (BALANCER, (f"{SPOOF}, {CLIENT}",), CLIENT),  # the client wrote SPOOF itself
        (BALANCER, (f"{SPOOF}, {CLIENT}, {INNER}",), CLIENT),  # two proxies of ours
        (BALANCER, (SPOOF, f"{CLIENT}, 10.9.9.9"), CLIENT),  # several headers are one list
        (INNER, (f"{CLIENT},{BALANCER}",), CLIENT),
        # Every entry is ours: the furthest one known.
        (BALANCER, (f"10.0.0.5, {INNER}",), "10.0.0.5"),
        # Written forms: ports and brackets dropped, IPv6 and IPv4-mapped addresses canonical.
        (BALANCER, ("[2001:DB8:0::7]:443",), "2001:db8::7"),
        (BALANCER, ("203.0.113.7:8080",), CLIENT),
        (BALANCER, ("::ffff:203.0.113.7",), CLIENT),
        ("::ffff:10.1.2.3", (CLIENT,), CLIENT),
        # An entry that is no address, written by one of ours: the peer, never the text.
        (BALANCER, (f"{CLIENT}, unknown",), BALANCER),
        (BALANCER, ("",), BALANCER),
        # A peer the server does not know (a Unix socket) is trusted for nothing.
        (None, (CLIENT,), ""),
    ],
)
def test_the_client_address_rule(
    peer: str | None, forwarded: tuple[str, ...], expected: str
) -> None:
    assert TRUSTED.client_address(scope(peer, *forwarded)) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    none = TrustedProxies.parse("")
    assert none.client_address(scope(BALANCER, CLIENT)) == BALANCER
    assert none.client_address(scope("testclient", CLIENT)) == "testclient"


def test_the_setting_is_checked_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATRON_TRUSTED_PROXIES", "10.0.0.0/8,  2001:db8::1")
    assert Settings().trusted_proxies == "10.0.0.0/8,2001:db8::1/128"
    monkeypatch.setenv("PATRON_TRUSTED_PROXIES", "10.0.0.0/8, balancer.internal")
    with pytest.raises(ValueError):
        Settings()
    monkeypatch.delenv("PATRON_TRUSTED_PROXIES")
    assert Settings().trusted_proxies == ""


# --- through HTTP: throttling and the log line use the one address -------------------------


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The JSON lines the `patron` loggers write while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(APP_LOGGER)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def logged_clients(stream: io.StringIO) -> list[str]:
    """The `client` of every request line written so far."""
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    return [line["client"] for line in lines if line["logger"] == ACCESS_LOGGER]


@pytest.fixture
def proxied(client: TestClient, database_url: str) -> Iterator[OwnApp]:
    """An app of its own behind trusted proxies, LIMIT failures per credential and address."""
    with own_app(
        database_url, limit=LIMIT, address_limit=LIMIT * 2, trusted_proxies=PROXIES
    ) as own:
        yield own


def lookup(own: OwnApp, peer: str, auth: dict[str, str], forwarded: str | None = None) -> int:
    """The status of a credentialed read arriving from `peer`, maybe with `X-Forwarded-For`."""
    headers = from_address(peer, auth)
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    response = own.http.get("/v2/customers/lookup", params=lookup_params(), headers=headers)
    return response.status_code


WRONG = basic("acme.till", "wrong")


def test_clients_behind_a_trusted_balancer_are_counted_apart(
    proxied: OwnApp, captured: io.StringIO
) -> None:
    for _ in range(LIMIT):
        assert lookup(proxied, BALANCER, WRONG, CLIENT) == 401
    assert lookup(proxied, BALANCER, ACME_AUTH, CLIENT) == 429
    # Another client through the same balancer, and the balancer itself, are untouched.
    assert lookup(proxied, BALANCER, ACME_AUTH, OTHER) == 404
    assert lookup(proxied, BALANCER, ACME_AUTH) == 404
    assert logged_clients(captured) == [CLIENT] * (LIMIT + 1) + [OTHER, BALANCER]


def test_an_untrusted_peer_cannot_choose_its_address(
    proxied: OwnApp, captured: io.StringIO
) -> None:
    for n in range(LIMIT):
        # A new address in the header each time: were it believed, nothing would add up.
        assert lookup(proxied, CLIENT, WRONG, f"192.0.2.{n}") == 401
    assert lookup(proxied, CLIENT, ACME_AUTH, SPOOF) == 429
    assert lookup(proxied, CLIENT, ACME_AUTH) == 429
    assert lookup(proxied, OTHER, ACME_AUTH, CLIENT) == 404  # nor take another's
    assert logged_clients(captured) == [CLIENT] * (LIMIT + 2) + [OTHER]


def test_a_client_cannot_spoof_its_address_through_the_balancer(proxied: OwnApp) -> None:
    for n in range(LIMIT):
        # The client wrote an address of its own; the balancer appended the real one.
        assert lookup(proxied, BALANCER, WRONG, f"192.0.2.{n}, {CLIENT}") == 401
    assert lookup(proxied, BALANCER, ACME_AUTH, f"{SPOOF}, {CLIENT}") == 429
    assert lookup(proxied, BALANCER, ACME_AUTH, f"{CLIENT}, {SPOOF}") == 404  # SPOOF's own


def test_without_trusted_proxies_everyone_behind_a_balancer_is_one_address(
    client: TestClient, database_url: str, captured: io.StringIO
) -> None:
    with own_app(database_url, limit=LIMIT) as own:
        for _ in range(LIMIT):
            assert lookup(own, BALANCER, WRONG, CLIENT) == 401
        assert lookup(own, BALANCER, ACME_AUTH, OTHER) == 429
        assert lookup(own, BALANCER, GLOBEX_AUTH, OTHER) == 404
    assert set(logged_clients(captured)) == {BALANCER}


def test_over_real_sockets_the_peer_decides_whom_to_believe(
    client: TestClient, database_url: str
) -> None:
    url, params = "/v2/customers/lookup", lookup_params()

    def status(http: httpx.Client, auth: dict[str, str], forwarded: str | None = None) -> int:
        headers = {**auth, **({"X-Forwarded-For": forwarded} if forwarded else {})}
        return http.get(url, params=params, headers=headers).status_code

    # The test's own socket (127.0.0.1) stands for the balancer.
    trusting = {"auth_failure_limit": LIMIT, "trusted_proxies": "127.0.0.1"}
    with live_server(database_url, **trusting) as base, httpx.Client(base_url=base) as http:
        for _ in range(LIMIT):
            assert status(http, WRONG, CLIENT) == 401
        assert status(http, ACME_AUTH, CLIENT) == 429
        assert status(http, ACME_AUTH, OTHER) == 404
        assert status(http, ACME_AUTH) == 404  # the balancer's own address
    with (
        live_server(database_url, auth_failure_limit=LIMIT) as base,
        httpx.Client(base_url=base) as http,
    ):
        for _ in range(LIMIT):
            assert status(http, WRONG, CLIENT) == 401
        assert status(http, ACME_AUTH, OTHER) == 429  # the header is not believed
