"""Failures counted per key in fixed windows, in bounded memory: the mechanism under the throttle.

A key's window opens at its first failure and lasts `window_seconds`; once the key has `limit`
failures in it, the key is blocked until the window ends. The counter only counts and answers
"blocked, and for how long?": which keys a request involves, and what being blocked means for
it, is `patron.auth.throttle`'s business. Not thread-safe on its own: the throttle holds a lock.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(slots=True)
class _Window:
    failures: int
    ends_at: float


class FailureCounter(Generic[K]):
    """Failures per key in fixed windows; at most `max_keys` counters and blocked keys."""

    def __init__(self, limit: int, window_seconds: float, max_keys: int) -> None:
        if limit < 0 or window_seconds <= 0 or max_keys < 1:
            raise ValueError("limit must be >= 0, window_seconds > 0 and max_keys >= 1")
        self.limit = limit
        self.window_seconds = window_seconds
        self._max_keys = max_keys
        self._windows: OrderedDict[K, _Window] = OrderedDict()
        # Only the keys blocked right now, and when they are free again. Empty in normal
        # operation, which is what keeps the throttle's hot path free; `_expiries` (a heap of
        # (until, key)) empties it again as windows end, whether or not the keys come back.
        self.blocked: dict[K, float] = {}
        self._expiries: list[tuple[float, int, K]] = []
        self._pushed = 0

    def __len__(self) -> int:
        """Failure counters held now (at most `max_keys`)."""
        return len(self._windows)

    def blocked_for(self, key: K, now: float) -> float:
        """Seconds until `key` is free again (0 when it is not blocked)."""
        until = self.blocked.get(key)
        return until - now if until is not None and until > now else 0.0

    def count(self, key: K, now: float) -> None:
        """One failure of `key` (nothing when the limit is 0)."""
        if self.limit == 0:
            return
        window = self._windows.get(key)
        if window is None or window.ends_at <= now:
            window = _Window(0, now + self.window_seconds)
        window.failures += 1
        self._windows[key] = window
        self._windows.move_to_end(key)
        while len(self._windows) > self._max_keys:
            self._windows.popitem(last=False)
        if window.failures >= self.limit:
            self._block(key, window.ends_at, now)

    def expire(self, now: float) -> None:
        """Free every key whose window has ended."""
        expiries, blocked = self._expiries, self.blocked
        while expiries and expiries[0][0] <= now:
            until, _, key = heapq.heappop(expiries)
            if blocked.get(key) == until:
                del blocked[key]

    def _block(self, key: K, until: float, now: float) -> None:
        self.blocked[key] = until
        # The push number breaks ties, so keys themselves are never compared.
        self._pushed += 1
        heapq.heappush(self._expiries, (until, self._pushed, key))
        if len(self.blocked) > self._max_keys:
            self.expire(now)
        while len(self.blocked) > self._max_keys and self._expiries:
            # Over the bound even after expiry: free the key whose window ends first.
            soonest, _, old = heapq.heappop(self._expiries)
            if self.blocked.get(old) == soonest:
                del self.blocked[old]


class Proofs(Generic[K]):
    """Keys that succeeded lately, with a value each: a bounded LRU, least recently proven out."""

    def __init__(self, max_keys: int) -> None:
        self._max_keys = max_keys
        self._entries: OrderedDict[K, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> bytes | None:
        """The value remembered with `key`, or None."""
        return self._entries.get(key)

    def add(self, key: K, value: bytes = b"") -> None:
        """Remember `key` (now the most recently proven)."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self._max_keys:
            self._entries.popitem(last=False)
