"""The readiness checks: the database answers, and its schema is at the packaged migrations' head."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import cache

from patron.db.driver import Database
from patron.db.revisions import head_revision

log = logging.getLogger("patron.health")


@dataclass(frozen=True, slots=True)
class Check:
    """One named check and its outcome."""

    name: str
    ok: bool
    detail: str


@cache
def expected_revision() -> str:
    """The head of the migrations shipped with this code (read once per process)."""
    return head_revision()


async def readiness(db: Database, timeout_s: float) -> list[Check]:
    """Whether `SELECT 1` succeeds within `timeout_s`, and whether the schema is at head."""
    head = expected_revision()
    reached = False
    revisions: set[str] | None = None
    failure = ""
    try:
        async with asyncio.timeout(timeout_s), db.transaction(write=False) as conn:
            await conn.fetchval("SELECT 1")
            reached = True
            rows = await conn.fetch("SELECT version_num FROM alembic_version")
            revisions = {str(r["version_num"]) for r in rows}
    except TimeoutError:
        failure = f"no answer within {timeout_s:g} s"
    except Exception as exc:
        # The cause may name hosts or SQL: it goes to the log, the probe gets a fixed sentence.
        log.warning("readiness check failed: %s: %s", type(exc).__name__, exc)
        failure = "unreachable" if not reached else "no migration version recorded"
    database = Check("database", reached, "ok" if reached else failure)
    if not reached:
        return [database, Check("migrations", False, "not checked: the database did not answer")]
    if revisions is None:
        return [database, Check("migrations", False, failure)]
    if revisions != {head}:
        found = ", ".join(sorted(revisions)) or "none"
        return [database, Check("migrations", False, f"at {found}, expected {head}")]
    return [database, Check("migrations", True, f"at {head}")]
