"""One dialect-aware database layer: asyncpg on PostgreSQL, the standard sqlite3 module on SQLite.

Repositories write SQL once with `$1`-style parameters; this module runs it on either engine and
makes values come back the same way (JSON as Python objects, timestamps as aware datetimes,
booleans as bools). Queries go straight to the drivers, without an ORM in the hot path: asyncpg
prepares and caches each statement per connection, and an update costs a handful of round trips.

SQLite runs in WAL mode on one connection per process; its statements take microseconds, so they
run on the event loop thread, one unit of work at a time. Writes begin with `BEGIN IMMEDIATE`; when
another process holds the write lock the attempt is retried with `asyncio.sleep` back-off rather
than by blocking the loop in SQLite's own busy handler.

Every way the database can fail to serve (a refused, lost or silent connection, a server shutting
down, a statement timeout, no pooled connection in time, an SQLite write lock held past the busy
timeout, an SQLite file that cannot be read or written) comes out as `DatabaseUnavailable`, which
the API answers with 503. Every wait is bounded: on PostgreSQL one deadline covers a whole unit of
work; on SQLite the busy timeout covers the wait for the process's connection and for the write
lock. Neither engine has to be up for the service to start: connections are made on first use.

This module is the layer's public face (`create_database` and every name callers need); the
engines live in `patron.db.postgres` and `patron.db.sqlite`, their shared types in `patron.db.base`.
"""

from __future__ import annotations

from patron.db.base import (
    Connection,
    CustomerChanged,
    Database,
    DatabaseUnavailable,
    DatabaseUrl,
    Dialect,
    JsonText,
    Pooler,
    PoolUsage,
    Row,
    UniqueViolation,
    parse_database_url,
)
from patron.db.postgres import PostgresConnection, PostgresDatabase
from patron.db.sqlite import SqliteConnection, SqliteDatabase, connect_sqlite, sqlite_sql

__all__ = [
    "Connection",
    "CustomerChanged",
    "Database",
    "DatabaseUnavailable",
    "DatabaseUrl",
    "Dialect",
    "JsonText",
    "PoolUsage",
    "Pooler",
    "PostgresConnection",
    "PostgresDatabase",
    "Row",
    "SqliteConnection",
    "SqliteDatabase",
    "UniqueViolation",
    "connect_sqlite",
    "create_database",
    "parse_database_url",
    "sqlite_sql",
]


def create_database(
    url: str,
    *,
    pool_size: int = 10,
    busy_timeout_ms: int = 5000,
    statement_timeout_ms: int = 5000,
    connect_timeout_s: float = 5.0,
    timeout_s: float = 10.0,
    pooler: Pooler = "none",
) -> Database:
    """The database object for a URL; nothing connects until `open()`."""
    parsed = parse_database_url(url)
    if parsed.dialect == "sqlite":
        return SqliteDatabase(parsed.sqlite_path, busy_timeout_ms=busy_timeout_ms)
    return PostgresDatabase(
        parsed.driver_dsn,
        pool_size=pool_size,
        statement_timeout_ms=statement_timeout_ms,
        connect_timeout_s=connect_timeout_s,
        timeout_s=timeout_s,
        pooler=pooler,
    )
