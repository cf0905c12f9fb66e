"""How many database connections a process holds: asked of the driver at the moment of a scrape."""

from __future__ import annotations

from patron.db.driver import Database, PoolUsage

__all__ = ["PoolUsage", "pool_usage"]


def pool_usage(db: Database) -> PoolUsage:
    """The current usage of `db`'s connections (never touches the database itself)."""
    return db.usage()
