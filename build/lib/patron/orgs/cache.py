"""Org configurations cached in the process, checked against the database's version.

A worker trusts its copy for `ttl_seconds` (default 1 s), then asks for the org's
`config_version` (one indexed read) and reloads only when it changed. The process that applies a
new configuration drops its copy at once; other workers see it within the TTL.
"""

from __future__ import annotations

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


class OrgConfigCache:
    """Per-process cache of `OrgConfig` by org id."""

    def __init__(
        self, db: Database, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._clock = clock
        self._slots: dict[OrgId, _Slot] = {}

    async def get(self, org_id: OrgId) -> OrgConfig | None:
        """The org's current configuration, or None when the org does not exist."""
        now = self._clock()
        slot = self._slots.get(org_id)
        if slot is not None and now - slot.checked_at < self._ttl:
            return slot.config
        async with self._db.transaction(write=False) as conn:
            if slot is not None:
                version = await repository.config_version(conn, org_id)
                if version == slot.config.version:
                    slot.checked_at = now
                    return slot.config
            config = await repository.load_config(conn, org_id)
        if config is None:
            self._slots.pop(org_id, None)
            return None
        self._slots[org_id] = _Slot(config, now)
        return config

    def put(self, config: OrgConfig) -> None:
        """Remember a configuration this process has just loaded or written."""
        self._slots[config.org_id] = _Slot(config, self._clock())

    def invalidate(self, org_id: OrgId) -> None:
        """Forget an org, so the next request reloads it."""
        self._slots.pop(org_id, None)
