"""One dialect-aware database layer: asyncpg on PostgreSQL, the standard sqlite3 module on SQLite.

Repositories write SQL once with `$1`-style parameters; this module runs it on either engine and
makes values come back the same way (JSON as Python objects, timestamps as aware datetimes,
booleans as bools). Queries go straight to the drivers, without an ORM in the hot path: asyncpg
prepares and caches each statement per connection, and an update costs a handful of round trips.

SQLite runs in WAL mode on one connection per process; its statements take microseconds, so they
run on the event loop thread, one unit of work at a time. Writes begin with `BEGIN IMMEDIATE`; when
another process holds the write lock the attempt is retried with `asyncio.sleep` back-off rather
than by blocking the loop in SQLite's own busy handler.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import asyncpg
import orjson

Dialect = Literal["postgresql", "sqlite"]


class Row(Protocol):
    """A result row, indexable by column name or position (asyncpg.Record, sqlite3.Row)."""

    def __getitem__(self, key: str | int, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class UniqueViolation(Exception):
    """A unique or primary key refused a row; `table` names the table when known."""

    def __init__(self, table: str | None, detail: str) -> None:
        super().__init__(detail)
        self.table = table


class DatabaseUnavailable(Exception):
    """The database cannot be reached or stayed locked past the configured wait."""


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A parsed PATRON_DATABASE_URL: its dialect, the DSN for our driver and for SQLAlchemy."""

    dialect: Dialect
    driver_dsn: str
    sqlalchemy_url: str

    @property
    def sqlite_path(self) -> str:
        """The SQLite file (only meaningful for the sqlite dialect)."""
        return self.driver_dsn


def parse_database_url(url: str) -> DatabaseUrl:
    """Accept the plain forms `sqlite:///PATH` and `postgresql://...` (and driver-suffixed ones)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path or path == ":memory:":
            raise ValueError("an SQLite database needs a file path: sqlite:///PATH")
        return DatabaseUrl("sqlite", path, f"sqlite:///{path}")
    if base in ("postgresql", "postgres"):
        return DatabaseUrl("postgresql", f"postgresql://{rest}", f"postgresql+asyncpg://{rest}")
    raise ValueError(f"unsupported database {scheme!r}: use sqlite:///PATH or postgresql://...")


class Connection(Protocol):
    """What repositories see: one connection inside one transaction."""

    dialect: Dialect

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...

    async def execute(self, sql: str, *args: Any) -> None: ...

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None: ...


class Database(Protocol):
    """A pool (PostgreSQL) or a single connection (SQLite) handing out transactions."""

    dialect: Dialect

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self, *, write: bool) -> AbstractAsyncContextManager[Connection]: ...


def create_database(
    url: str, *, pool_size: int = 10, busy_timeout_ms: int = 5000, statement_timeout_ms: int = 10000
) -> Database:
    """The database object for a URL; nothing connects until `open()`."""
    parsed = parse_database_url(url)
    if parsed.dialect == "sqlite":
        return SqliteDatabase(parsed.sqlite_path, busy_timeout_ms=busy_timeout_ms)
    return PostgresDatabase(
        parsed.driver_dsn, pool_size=pool_size, statement_timeout_ms=statement_timeout_ms
    )


# --- PostgreSQL ---------------------------------------------------------------------------

_PG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.QueryCanceledError,
)


async def _init_pg_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


class PostgresConnection:
    """An asyncpg connection inside a transaction, with errors mapped to ours."""

    dialect: Dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            return list(await self._conn.fetch(sql, *args))
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(exc.table_name, str(exc)) from exc

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        try:
            row: Row | None = await self._conn.fetchrow(sql, *args)
            return row
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(exc.table_name, str(exc)) from exc

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self._conn.fetchval(sql, *args)
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(exc.table_name, str(exc)) from exc

    async def execute(self, sql: str, *args: Any) -> None:
        try:
            await self._conn.execute(sql, *args)
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(exc.table_name, str(exc)) from exc

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        try:
            await self._conn.executemany(sql, args)
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(exc.table_name, str(exc)) from exc


class PostgresDatabase:
    """An asyncpg pool; each transaction holds one pooled connection."""

    dialect: Dialect = "postgresql"

    def __init__(self, dsn: str, *, pool_size: int, statement_timeout_ms: int) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._statement_timeout_ms = statement_timeout_ms
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self._pool_size,
                init=_init_pg_connection,
                timeout=10,
                server_settings={
                    "application_name": "patron",
                    "statement_timeout": str(self._statement_timeout_ms),
                },
            )
        except _PG_UNAVAILABLE as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[Connection]:
        if self._pool is None:
            raise DatabaseUnavailable("database is not open")
        try:
            async with self._pool.acquire(timeout=10) as conn:
                tx = (
                    conn.transaction()
                    if write
                    else conn.transaction(isolation="repeatable_read", readonly=True)
                )
                async with tx:
                    yield PostgresConnection(conn)
        except _PG_UNAVAILABLE as exc:
            raise DatabaseUnavailable(str(exc)) from exc


# --- SQLite -------------------------------------------------------------------------------


def _adapt_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _adapt_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return value.astimezone(UTC).isoformat()


sqlite3.register_adapter(dict, _adapt_json)
sqlite3.register_adapter(list, _adapt_json)
sqlite3.register_adapter(datetime, _adapt_datetime)
sqlite3.register_converter("JSON", orjson.loads)
sqlite3.register_converter("DATETIME", lambda b: datetime.fromisoformat(b.decode()))
sqlite3.register_converter("BOOLEAN", lambda b: b not in (b"0", b""))

_PARAM = re.compile(r"\$(\d+)")


@lru_cache(maxsize=512)
def sqlite_sql(sql: str) -> str:
    """Rewrite `$1` parameters as SQLite's numbered `?1`."""
    return _PARAM.sub(r"?\1", sql)


def _sqlite_table(message: str) -> str | None:
    # "UNIQUE constraint failed: identifiers.org_id, identifiers.source, ..."
    _, _, cols = message.partition(":")
    first = cols.strip().split(",")[0]
    return first.split(".")[0] if "." in first else None


class SqliteConnection:
    """The process's SQLite connection inside a transaction."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _run(self, sql: str, args: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sqlite_sql(sql), args)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
                raise UniqueViolation(_sqlite_table(str(exc)), str(exc)) from exc
            raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise DatabaseUnavailable(str(exc)) from exc
            raise

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return self._run(sql, args).fetchall()

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = self._run(sql, args).fetchone()
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = self._run(sql, args).fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: Any) -> None:
        self._run(sql, args)

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sqlite_sql(sql), args)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise UniqueViolation(_sqlite_table(str(exc)), str(exc)) from exc
            raise


def connect_sqlite(path: str, *, busy_timeout_ms: int) -> sqlite3.Connection:
    """An SQLite connection with patron's settings: WAL, foreign keys, typed results."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path,
        isolation_level=None,  # transactions are begun explicitly
        check_same_thread=False,
        detect_types=sqlite3.PARSE_DECLTYPES,
        cached_statements=512,
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    return conn


class SqliteDatabase:
    """One SQLite connection per process; units of work take turns on it."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: str, *, busy_timeout_ms: int) -> None:
        self._path = path
        self._busy_timeout_s = busy_timeout_ms / 1000
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        # busy_timeout 0: a locked database is retried below with asyncio.sleep, so a
        # writer in another process never blocks this process's event loop.
        self._conn = connect_sqlite(self._path, busy_timeout_ms=0)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _begin(self, conn: sqlite3.Connection, write: bool) -> None:
        statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        deadline = time.monotonic() + self._busy_timeout_s
        delay = 0.001
        while True:
            try:
                conn.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise DatabaseUnavailable("database is locked by another process") from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[Connection]:
        if self._conn is None:
            raise DatabaseUnavailable("database is not open")
        conn = self._conn
        async with self._lock:
            await self._begin(conn, write)
            try:
                yield SqliteConnection(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    conn.execute("ROLLBACK")
                    raise DatabaseUnavailable(str(exc)) from exc
