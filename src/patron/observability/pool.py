"""How many database connections a process holds: read from the driver at the moment asked."""

from __future__ import annotations

from dataclasses import dataclass

from patron.db.driver import Database, PostgresDatabase, SqliteDatabase


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """Connections open, held by a unit of work, idle, and the most the pool may open."""

    size: int
    in_use: int
    idle: int
    max: int


def pool_usage(db: Database) -> PoolUsage:
    """The current usage of `db`'s connections (never touches the database itself)."""
    # The driver keeps its pool to itself; these reads are of plain attributes and cost
    # nothing, so the figures can be taken at every scrape.
    if isinstance(db, PostgresDatabase):
        pool = db._pool
        if pool is None:
            return PoolUsage(0, 0, 0, db._pool_size)
        size, idle = pool.get_size(), pool.get_idle_size()
        return PoolUsage(size, size - idle, idle, pool.get_max_size())
    if isinstance(db, SqliteDatabase):
        size = 0 if db._conn is None else 1
        in_use = 1 if db._lock.locked() else 0
        return PoolUsage(size, in_use, max(size - in_use, 0), 1)
    return PoolUsage(0, 0, 0, 0)
