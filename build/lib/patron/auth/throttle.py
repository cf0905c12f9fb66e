"""Slowing down guessing: repeated failed authentication from one till, OAuth key or address.

Each failed authentication counts against every key it involves: the client address always
(`request.client.host`), and the till code (Basic) or the OAuth client key (token route) it
named. Once a key has `limit` failures in a window of `window_seconds` (the window opens at its
first failure), every further attempt involving it is refused with 429 `AUTH_THROTTLED` and a
`Retry-After` until the window ends, *before* the credential is looked at: a throttled
attempt costs no argon2 time, and a throttled valid credential is refused like any other, so
the answer says nothing about the guess. Refused attempts do not count (the window does not
slide), and a success resets nothing: a caller holding one valid credential cannot use it to
wipe the count of its guesses at another.

The counters live in the process's memory, so each worker counts on its own. That is enough:
a guesser gets at most `workers x limit` attempts per window and key, which is what the limit
is for; sharing counters would put a database or cache round trip on every failure for no
real gain. Memory is bounded: at most `max_keys` counters (least recently failed out) and at
most `max_keys` throttled keys.

The hot path (a valid credential while nothing is throttled) costs one truthiness test of an
empty dict: `check` returns at once when no key is throttled.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from patron import errors
from patron.errors import ApiError, Problem

MAX_KEYS = 100_000
"""Failure counters (and throttled keys) kept per process, least recently failed out."""
THROTTLED_MESSAGE = "Too many failed authentication attempts; retry later"

Key = tuple[str, str]
"""A counted thing: `("addr", host)`, `("till", code)` or `("oauth", key)`."""


class Throttled(ApiError):
    """429 `AUTH_THROTTLED`: the caller must wait `retry_after` seconds before trying again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__([Problem(errors.AUTH_THROTTLED, THROTTLED_MESSAGE)])
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """The response headers this refusal needs (`Retry-After`, in whole seconds)."""
        return {"Retry-After": str(self.retry_after)}


@dataclass(slots=True)
class _Window:
    failures: int
    ends_at: float


def address_key(conn: HTTPConnection) -> Key | None:
    """The counter of the request's client address; None when the server knows no address."""
    client = conn.scope.get("client")
    return ("addr", str(client[0])) if client else None


def till_key(code: str) -> Key:
    """The counter of a till code."""
    return ("till", code)


def oauth_key(key: str) -> Key:
    """The counter of an OAuth client key."""
    return ("oauth", key)


class FailureThrottle:
    """Counts failed authentications per key in fixed windows; refuses keys over the limit.

    `limit` 0 turns throttling off. Safe to call from the event loop and from worker threads.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 0 or window_seconds <= 0 or max_keys < 1:
            raise ValueError("limit must be >= 0, window_seconds > 0 and max_keys >= 1")
        self._limit = limit
        self._window = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._windows: OrderedDict[Key, _Window] = OrderedDict()
        # Only the keys refused right now, and when they are free again. Empty in normal
        # operation, which is what keeps `check` free on the hot path; `_expiries` (a heap of
        # (until, key)) empties it again as windows end, whether or not the keys come back.
        self._blocked: dict[Key, float] = {}
        self._expiries: list[tuple[float, Key]] = []
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        """Failures allowed per key and window (0: no throttling)."""
        return self._limit

    @property
    def window_seconds(self) -> float:
        """Length of a window, counted from a key's first failure."""
        return self._window

    def __len__(self) -> int:
        """Failure counters held now (at most `max_keys`)."""
        return len(self._windows)

    def throttled(self) -> int:
        """Keys refused right now (at most `max_keys`)."""
        with self._lock:
            self._expire(self._clock())
            return len(self._blocked)

    def check(self, *keys: Key | None) -> None:
        """Raise `Throttled` if any of `keys` (None ones skipped) is refused right now."""
        if not self._blocked:
            return
        with self._lock:
            now = self._clock()
            self._expire(now)
            wait = max((self._blocked.get(k, now) - now for k in keys if k is not None), default=0)
        if wait > 0:
            raise Throttled(max(1, math.ceil(wait)))

    def failed(self, *keys: Key | None) -> None:
        """Count one failed authentication against each of `keys` (None ones skipped)."""
        if self._limit == 0:
            return
        with self._lock:
            now = self._clock()
            for key in keys:
                if key is not None:
                    self._count(key, now)

    def _count(self, key: Key, now: float) -> None:
        window = self._windows.get(key)
        if window is None or window.ends_at <= now:
            window = _Window(0, now + self._window)
        window.failures += 1
        self._windows[key] = window
        self._windows.move_to_end(key)
        while len(self._windows) > self._max_keys:
            self._windows.popitem(last=False)
        if window.failures >= self._limit:
            self._block(key, window.ends_at, now)

    def _block(self, key: Key, until: float, now: float) -> None:
        self._blocked[key] = until
        heapq.heappush(self._expiries, (until, key))
        if len(self._blocked) > self._max_keys:
            self._expire(now)
        while len(self._blocked) > self._max_keys and self._expiries:
            # Over the bound even after expiry: free the key whose window ends first.
            soonest, key = heapq.heappop(self._expiries)
            if self._blocked.get(key) == soonest:
                del self._blocked[key]

    def _expire(self, now: float) -> None:
        """Free every key whose window has ended."""
        expiries, blocked = self._expiries, self._blocked
        while expiries and expiries[0][0] <= now:
            until, key = heapq.heappop(expiries)
            if blocked.get(key) == until:
                del blocked[key]


def throttle_for(conn: HTTPConnection) -> FailureThrottle:
    """The application's throttle, made from its settings on first use (one per process)."""
    state = conn.app.state
    try:
        throttle: FailureThrottle = state.auth_throttle
    except AttributeError:
        settings = state.settings
        throttle = FailureThrottle(
            settings.auth_failure_limit, settings.auth_failure_window_seconds
        )
        state.auth_throttle = throttle
    return throttle
