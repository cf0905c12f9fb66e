"""Org configurations cached in the process, checked against the database's version.

A worker trusts its copy for `ttl_seconds` (default 1 s), then asks for the org's
`config_version` (one indexed read) and reloads only when it changed. The process that applies a
new configuration drops its copy at once; other workers see it within the TTL.

The check is made ahead of time: a request that finds its org's copy past half the TTL starts
one check in the background and goes on with the copy, which is still within its TTL. A request
waits only when the copy has run out (a worker idle for longer than the TTL) or there is none,
and then every request of the org that arrives before the check has answered waits for that one
check instead of making its own. Under load a request waits only when a check has not
answered within half the TTL (it queues for a connection like any unit of work); when requests
waited for the check at the TTL, every request of the org arriving during it stalled for a full
pass of a saturated event loop (on SQLite, 100-240 ms once a second per org, the whole p99),
and before they shared it a worker serving 64 requests at once made about six checks per org
and second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from patron.db.driver import Database
from patron.orgs import repository
from patron.orgs.model import OrgConfig, OrgId


@dataclass(slots=True)
class _Slot:
    config: OrgConfig
    checked_at: float


REFRESH_AHEAD = 0.5
"""The share of the TTL after which a request starts a background check of its org's copy."""


class OrgConfigCache:
    """Per-process cache of `OrgConfig` by org id."""

    def __init__(
        self, db: Database, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._clock = clock
        self._slots: dict[OrgId, _Slot] = {}
        self._checking: dict[OrgId, asyncio.Task[OrgConfig | None]] = {}

    async def get(self, org_id: OrgId) -> OrgConfig | None:
        """The org's current configuration, or None when the org does not exist."""
        now = self._clock()
        slot = self._slots.get(org_id)
        check = self._checking.get(org_id)
        if slot is not None and now - slot.checked_at < self._ttl:
            if check is None and now - slot.checked_at >= self._ttl * REFRESH_AHEAD:
                self._check(org_id, slot, now)
            return slot.config
        if check is None:
            check = self._check(org_id, slot, now)
        # Shielded: one waiter giving up (a client gone) does not cancel the others' check.
        return await asyncio.shield(check)

    def _check(
        self, org_id: OrgId, slot: _Slot | None, now: float
    ) -> asyncio.Task[OrgConfig | None]:
        """Start the one check of an org's copy (the others wait for it or go on without it)."""
        check = asyncio.create_task(self._refresh(org_id, slot, now))
        self._checking[org_id] = check
        check.add_done_callback(lambda done: self._checked(org_id, done))
        return check

    def _checked(self, org_id: OrgId, done: asyncio.Task[OrgConfig | None]) -> None:
        if self._checking.get(org_id) is done:
            del self._checking[org_id]
        if not done.cancelled():
            # Retrieved: each waiter has raised it already, or none was left. A check made ahead
            # of time that failed leaves the copy as it was, and the next request tries again.
            done.exception()

    async def _refresh(self, org_id: OrgId, slot: _Slot | None, now: float) -> OrgConfig | None:
        """Check the cached copy's version against the database, reloading it when it changed."""
        async with self._db.transaction(write=False) as conn:
            if slot is not None:
                version = await repository.config_version(conn, org_id)
                if version == slot.config.version:
                    slot.checked_at = now
                    return slot.config
            config = await repository.load_config(conn, org_id)
        if self._checking.get(org_id) is not asyncio.current_task():
            # The org was written meanwhile (`put`, `invalidate`): what was read may be older.
            return config
        if config is None:
            self._slots.pop(org_id, None)
            return None
        self._slots[org_id] = _Slot(config, now)
        return config

    def put(self, config: OrgConfig) -> None:
        """Remember a configuration this process has just loaded or written."""
        self._checking.pop(config.org_id, None)
        self._slots[config.org_id] = _Slot(config, self._clock())

    def invalidate(self, org_id: OrgId) -> None:
        """Forget an org, so the next request reloads it."""
        self._checking.pop(org_id, None)
        self._slots.pop(org_id, None)
