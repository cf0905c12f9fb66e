"""Slowing down guessing without locking out honest callers (SPEC section 4).

Many tills of a store, or a retailer's whole back end, reach patron from one address, so
failures are counted per credential name (till code, OAuth key) *and* client address:

* `limit` failures of one credential from one address in a window refuse that credential from
  that address (429) for the rest of the window; the same credential elsewhere, and every other
  credential there, are unaffected.
* `address_limit` failures from one address across all credentials (a password spray) refuse
  every credential not yet proven from that address; a credential that authenticated from it
  before keeps working. Proofs are remembered per (credential, address), least recently proven
  out past `max_keys`.
* Admin-token failures have counters of their own, per address, and never throttle tills or
  OAuth clients (nor the other way round). Past `limit`, admin requests from that address are
  refused unless they carry the token that already authenticated from it.
* Addresses of the allowlist are never counted nor refused. A request with no credential never
  reaches the throttle.

A refusal happens *before* the credential is looked at: it costs no argon2 time, and a right
credential is refused like a wrong one, so a 429 says nothing about the guess. Refused attempts
do not count (the window does not slide), and a success resets nothing.

The counters live in the process's memory, so each worker counts on its own: a guesser gets at
most `workers x limit` attempts per window, credential and address, which is what the limit is
for; sharing counters would put a round trip on every failure for no real gain. Memory is
bounded by `max_keys` per kind of counter. The hot path (a valid credential while nothing is
refused) costs a truthiness test of two empty dicts, plus remembering the proof.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable

from patron import errors
from patron.addresses import AddressSet
from patron.auth.counters import FailureCounter, Proofs
from patron.config import Settings
from patron.errors import ApiError, Problem

MAX_KEYS = 100_000
"""Counters (and blocked keys, and proofs) kept per kind and process, least recent out."""
THROTTLED_MESSAGE = "Too many failed authentication attempts; retry later"

Credential = tuple[str, str]
"""A credential's name: `("till", code)` or `("oauth", key)`."""


class Throttled(ApiError):
    """429 `AUTH_THROTTLED`: the caller must wait `retry_after` seconds before trying again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__([Problem(errors.AUTH_THROTTLED, THROTTLED_MESSAGE)])
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """The response headers this refusal needs (`Retry-After`, in whole seconds)."""
        return {"Retry-After": str(self.retry_after)}


def till_key(code: str) -> Credential:
    """The name of a till's Basic credential."""
    return ("till", code)


def oauth_key(key: str) -> Credential:
    """The name of an OAuth client's credential."""
    return ("oauth", key)


class AuthThrottle:
    """Counts failed authentications per (credential, address), per address, and for the admin.

    `limit` 0 turns throttling off; `address_limit` 0 turns off the per-address limit only.
    Safe to call from the event loop and from worker threads.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        address_limit: int = 0,
        allowlist: AddressSet | None = None,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if address_limit < 0:
            raise ValueError("address_limit must be >= 0")
        self._credentials: FailureCounter[tuple[Credential, str]] = FailureCounter(
            limit, window_seconds, max_keys
        )
        self._addresses: FailureCounter[str] = FailureCounter(
            address_limit if limit else 0, window_seconds, max_keys
        )
        self._admin: FailureCounter[str] = FailureCounter(limit, window_seconds, max_keys)
        self._proven: Proofs[tuple[Credential, str]] = Proofs(max_keys)
        self._admin_proven: Proofs[str] = Proofs(max_keys)
        self._allowlist = allowlist or AddressSet()
        self._clock = clock
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthThrottle:
        """The throttle the settings describe (one per process)."""
        return cls(
            settings.auth_failure_limit,
            settings.auth_failure_window_seconds,
            address_limit=settings.auth_address_failure_limit,
            allowlist=AddressSet.parse(settings.auth_allowlist),
        )

    @property
    def limit(self) -> int:
        """Failures allowed per credential and address, and admin failures per address."""
        return self._credentials.limit

    @property
    def address_limit(self) -> int:
        """Failures allowed per address across credentials (0: no such limit)."""
        return self._addresses.limit

    @property
    def window_seconds(self) -> float:
        """Length of a window, counted from a key's first failure."""
        return self._credentials.window_seconds

    def counters(self) -> int:
        """Failure counters held now, of every kind (each kind at most `max_keys`)."""
        return len(self._credentials) + len(self._addresses) + len(self._admin)

    def held(self) -> int:
        """Every key held now: counters, blocked keys and proofs (the memory bound's measure)."""
        with self._lock:
            blocked = (
                len(self._credentials.blocked)
                + len(self._addresses.blocked)
                + len(self._admin.blocked)
            )
            return self.counters() + blocked + len(self._proven) + len(self._admin_proven)

    def throttled(self) -> int:
        """Keys refused right now, of every kind."""
        with self._lock:
            now = self._clock()
            total = 0
            for counter in (self._credentials, self._addresses, self._admin):
                counter.expire(now)
                total += len(counter.blocked)
            return total

    # --- tills and OAuth clients ------------------------------------------------------------

    def check(self, credential: Credential | None, address: str) -> None:
        """Raise `Throttled` if `credential` (None: an unreadable one) is refused from `address`."""
        if not self._credentials.blocked and not self._addresses.blocked:
            return
        if address in self._allowlist:
            return
        with self._lock:
            now = self._clock()
            self._credentials.expire(now)
            self._addresses.expire(now)
            wait = 0.0
            if credential is not None:
                wait = self._credentials.blocked_for((credential, address), now)
            if not wait:
                wait = self._addresses.blocked_for(address, now)
                if wait and credential is not None and self._proven.get((credential, address)):
                    wait = 0.0
        if wait > 0:
            raise Throttled(max(1, math.ceil(wait)))

    def failed(self, credential: Credential | None, address: str) -> None:
        """Count one failure of `credential` (None: an unreadable one) from `address`."""
        if self.limit == 0 or address in self._allowlist:
            return
        with self._lock:
            now = self._clock()
            if credential is not None:
                self._credentials.count((credential, address), now)
            self._addresses.count(address, now)

    def succeeded(self, credential: Credential, address: str) -> None:
        """Remember that `credential` authenticated from `address` (it outlives a spray there)."""
        if self.limit == 0:
            return
        with self._lock:
            self._proven.add((credential, address), b"\x01")

    # --- the admin token ----------------------------------------------------------------------

    def check_admin(self, address: str, digest: bytes) -> None:
        """Raise `Throttled` if admin requests from `address` are refused and `digest` (of the
        offered token) is not the one that already authenticated from there."""
        if not self._admin.blocked or address in self._allowlist:
            return
        with self._lock:
            now = self._clock()
            self._admin.expire(now)
            wait = self._admin.blocked_for(address, now)
            proven = self._admin_proven.get(address)
        if wait > 0 and not (proven is not None and hmac.compare_digest(proven, digest)):
            raise Throttled(max(1, math.ceil(wait)))

    def admin_failed(self, address: str) -> None:
        """Count one wrong admin token from `address`."""
        if self.limit == 0 or address in self._allowlist:
            return
        with self._lock:
            self._admin.count(address, self._clock())

    def admin_succeeded(self, address: str, digest: bytes) -> None:
        """Remember the admin token (by `digest`) that authenticated from `address`."""
        if self.limit == 0:
            return
        with self._lock:
            self._admin_proven.add(address, digest)
