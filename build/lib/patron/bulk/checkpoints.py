"""The SQL of `import_runs`: where each import of a file into an org stands.

`advance` runs in the transaction of the batch it records, so the committed point and the
committed writes cannot disagree: a resume starts after `last_line` and applies nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.db.driver import Connection
from patron.orgs.model import OrgId


@dataclass(slots=True)
class ImportRun:
    """One import's committed point and its counts so far."""

    import_id: str
    total_lines: int
    last_line: int
    applied: int
    refused: int
    rejects_offset: int
    finished: bool


async def get(conn: Connection, org_id: OrgId, import_id: str) -> ImportRun | None:
    """The import's row, if it was ever started."""
    row = await conn.fetchrow(
        "SELECT total_lines, last_line, applied, refused, rejects_offset, finished_at"
        " FROM import_runs WHERE org_id = $1 AND import_id = $2",
        org_id,
        import_id,
    )
    if row is None:
        return None
    return ImportRun(
        import_id,
        int(row["total_lines"]),
        int(row["last_line"]),
        int(row["applied"]),
        int(row["refused"]),
        int(row["rejects_offset"]),
        row["finished_at"] is not None,
    )


async def start(
    conn: Connection,
    org_id: OrgId,
    import_id: str,
    *,
    file_name: str,
    file_format: str,
    total_lines: int,
    now: datetime,
) -> ImportRun:
    """Record a new import, at line 0."""
    await conn.execute(
        "INSERT INTO import_runs (org_id, import_id, file_name, file_format, total_lines,"
        " last_line, applied, refused, rejects_offset, started_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, 0, 0, 0, 0, $6, $6)",
        org_id,
        import_id,
        file_name[:255],
        file_format,
        total_lines,
        now,
    )
    return ImportRun(import_id, total_lines, 0, 0, 0, 0, False)


async def advance(conn: Connection, org_id: OrgId, run: ImportRun, now: datetime) -> None:
    """Store the run's new committed point and counts (in the batch's own transaction)."""
    await conn.execute(
        "UPDATE import_runs SET last_line = $3, applied = $4, refused = $5, rejects_offset = $6,"
        " updated_at = $7, finished_at = $8"
        " WHERE org_id = $1 AND import_id = $2",
        org_id,
        run.import_id,
        run.last_line,
        run.applied,
        run.refused,
        run.rejects_offset,
        now,
        now if run.finished else None,
    )
