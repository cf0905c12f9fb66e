"""Waiting for PostgreSQL to settle before a measurement that its background work would disturb.

After the rounds' hundreds of thousands of updates, PostgreSQL goes on working for a while:
autovacuum cleans the tables the runs rewrote, and the checkpointer writes their pages out. On a
two-core machine that work competes with whatever is measured next. `bench.cpu` reads the CPU
time of its own process, which such work inflates too (shared caches, and vCPUs that may be
sibling hyperthreads): in one full run, patron's figure taken straight after the rounds was
2.11-2.17 ms per update, and 1.67 ms when measured again a little later on the same database.
So before it, the bench asks for a checkpoint and waits until no other backend of the server is
active for a few seconds in a row, up to a limit, and records how long that took.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from bench.common import log

QUIET_SECONDS = 3.0
"""How long no other backend may be active before the server counts as settled."""


async def _settle(url: str, limit: float) -> tuple[float, bool]:
    started = time.monotonic()
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute("CHECKPOINT")
        quiet_since: float | None = None
        while True:
            now = time.monotonic()
            busy = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                " AND (state = 'active' OR backend_type = 'autovacuum worker')"
            )
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            if quiet_since is not None and now - quiet_since >= QUIET_SECONDS:
                return now - started, True
            if now - started >= limit:
                return now - started, False
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def settle(url: str, limit: float = 300.0) -> dict[str, float | bool]:
    """Checkpoint, then wait (at most `limit` s) until no other backend has been busy for a
    few seconds; how long it took and whether it settled."""
    waited, settled = asyncio.run(_settle(url, limit))
    log(
        f"  PostgreSQL settled after {waited:.1f} s"
        if settled
        else f"  PostgreSQL still busy after {waited:.1f} s: measuring anyway"
    )
    return {"waited_s": round(waited, 1), "settled": settled}
