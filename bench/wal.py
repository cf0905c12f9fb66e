"""What a run on PostgreSQL (14 or later) wrote to its write-ahead log, from the server's counters.

The server's WAL counters (`pg_stat_wal`) and checkpoint counts (`pg_stat_bgwriter`) are read
before and after a run. During a measured run only one server is under load, so the difference
is that run's: bytes, records and full-page images per request, and the checkpoints that fell
inside it.

Why it is reported: after a checkpoint, the first change to each page writes the whole page to
the log (a full-page image, up to 8 KiB). An update that changes rows on several random pages
pays that several times over, so its cost depends on how long ago the last checkpoint was, and
that depends on what ran before it. With these figures beside each run, a throughput that moved
because a checkpoint fell inside the run can be told from one that moved for another reason.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

COUNTERS = ("wal_records", "wal_fpi", "wal_bytes", "checkpoints")


async def _read(url: str) -> dict[str, float]:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        # PostgreSQL 17 moved the checkpoint counts to a view of their own.
        if await conn.fetchval("SELECT to_regclass('pg_catalog.pg_stat_checkpointer')"):
            checkpoints = "(SELECT num_timed + num_requested FROM pg_stat_checkpointer)"
        else:
            checkpoints = "(SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)"
        row = await conn.fetchrow(
            "SELECT wal_records, wal_fpi, wal_bytes::float8 AS wal_bytes,"
            f" {checkpoints} AS checkpoints FROM pg_stat_wal"
        )
    finally:
        await conn.close()
    assert row is not None
    return {k: float(row[k]) for k in COUNTERS}


def snapshot(url: str) -> dict[str, float]:
    """The server's WAL and checkpoint counters now (cluster-wide, since its statistics reset)."""
    return asyncio.run(_read(url))


def delta(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, Any]:
    """Per request: WAL KiB, records and full-page images; and the checkpoints in between."""
    per = max(requests, 1)
    d = {k: after[k] - before[k] for k in COUNTERS}
    return {
        "wal_kib_per_request": round(d["wal_bytes"] / 1024 / per, 2),
        "wal_records_per_request": round(d["wal_records"] / per, 2),
        "fpi_per_request": round(d["wal_fpi"] / per, 3),
        "checkpoints": int(d["checkpoints"]),
    }
