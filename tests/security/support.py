"""Helpers of the security tests: an app of their own, callers at chosen addresses, leak checks.

Tests that make authentication fail on purpose run against an app of their own (same database,
own throttle), never the session's shared app, so that their failures cannot throttle other
tests. The app is wrapped so that each request may say which client address it comes from
(`from_address`), as a server would learn it from the socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from patron.addresses import AddressSet
from patron.app import create_app
from patron.auth.throttle import MAX_KEYS, AuthThrottle
from tests.conftest import make_settings

ADDRESS_HEADER = "x-test-client-address"
DEFAULT_ADDRESS = "192.0.2.1"

LEAK_MARKERS = (
    "Traceback",
    'File "',
    "SELECT",
    "INSERT",
    "UPDATE ",
    "DELETE FROM",
    "asyncpg",
    "sqlite3",
    "sqlalchemy",
    "psycopg",
)
"""Text that would betray a stack trace or SQL in a response body."""


def from_address(address: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """`headers` plus the marker that makes the request come from `address`."""
    return {**(headers or {}), ADDRESS_HEADER: address}


class ClientAddressFromHeader:
    """ASGI wrapper: the request's client address is taken from `ADDRESS_HEADER` when present."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            address = DEFAULT_ADDRESS
            for name, value in scope["headers"]:
                if name == ADDRESS_HEADER.encode():
                    address = value.decode("latin-1")
            scope = {**scope, "client": (address, 40000)}
        await self.app(scope, receive, send)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@dataclass
class OwnApp:
    """An app of the test's own, its HTTP client, its throttle and the throttle's clock."""

    app: FastAPI
    http: TestClient
    throttle: AuthThrottle
    clock: Clock


@contextmanager
def own_app(
    database_url: str,
    *,
    limit: int = 0,
    window: float = 60.0,
    address_limit: int = 0,
    allowlist: str = "",
    max_keys: int = MAX_KEYS,
    clock: Clock | None = None,
    **settings: Any,
) -> Iterator[OwnApp]:
    """An app on `database_url` whose throttle allows `limit` failures per credential and
    address, and `address_limit` per address, per `window` seconds.

    Time stands still for the throttle unless the test moves `clock`.
    """
    app = create_app(
        make_settings(
            database_url,
            auth_failure_limit=limit,
            auth_failure_window_seconds=window,
            auth_address_failure_limit=address_limit,
            auth_allowlist=allowlist,
            **settings,
        )
    )
    # The app makes its throttle from its settings; this one counts the same but on a clock
    # the test moves (and with the bound the test chooses).
    clock = clock or Clock()
    throttle = AuthThrottle(
        limit,
        window,
        address_limit=address_limit,
        allowlist=AddressSet.parse(allowlist),
        max_keys=max_keys,
        clock=clock,
    )
    app.state.authenticator.throttle = throttle
    with TestClient(ClientAddressFromHeader(app), raise_server_exceptions=False) as http:
        yield OwnApp(app, http, throttle, clock)


def leak(response: httpx.Response, what: str = "") -> str | None:
    """Why the response betrays an internal fault (a 5xx, a stack trace, SQL), or None."""
    text = response.text
    if response.status_code >= 500:
        return f"{what}: {response.status_code} {text[:300]}"
    for marker in LEAK_MARKERS:
        if marker in text:
            return f"{what}: {marker!r} in {text[:300]}"
    return None


def assert_no_leak(response: httpx.Response, what: str = "") -> None:
    """The response is not a 5xx, and its body holds no stack trace and no SQL."""
    problem = leak(response, what)
    assert problem is None, problem


class LeakLog:
    """Collects every leaking response of a test, to report them all at once."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.checked = 0

    def check(self, response: httpx.Response, what: str = "") -> None:
        """Remember the response if it leaks."""
        self.checked += 1
        problem = leak(response, what)
        if problem is not None:
            self.found.append(problem)

    def assert_clean(self) -> None:
        """Fail listing every leak found."""
        assert self.checked > 0
        assert not self.found, f"{len(self.found)} of {self.checked} leak:\n" + "\n".join(
            self.found
        )


def same_answer(a: httpx.Response, b: httpx.Response) -> bool:
    """Same status, body and headers (but the request id): nothing tells the two apart."""
    return a.status_code == b.status_code and a.content == b.content and _headers(a) == _headers(b)


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k.lower() != "x-request-id")
