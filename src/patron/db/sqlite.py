"""SQLite through the standard sqlite3 module: one connection per process, WAL, BEGIN IMMEDIATE
retried with asyncio.sleep, `$1` parameters rewritten to `?`."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from patron.db.base import (
    Connection,
    DatabaseUnavailable,
    Dialect,
    JsonText,
    PoolUsage,
    Row,
    UniqueViolation,
    log,
)


def _adapt_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _adapt_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return value.astimezone(UTC).isoformat()


sqlite3.register_adapter(JsonText, str)
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


_SQLITE_BUSY = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED: another connection holds a lock
# Primary result codes that say the file cannot be used now, never that the SQL was wrong:
# the locks above, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, NOTADB.
_SQLITE_UNAVAILABLE = _SQLITE_BUSY | {7, 8, 10, 11, 13, 14, 15, 26}


def _sqlite_code(exc: sqlite3.Error) -> int | None:
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _translate(exc: sqlite3.Error) -> Exception | None:
    """Ours for an sqlite3 error: a duplicate, a fault, or None when it is a plain bug."""
    if isinstance(exc, sqlite3.IntegrityError):
        if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
            return UniqueViolation(_sqlite_table(str(exc)), str(exc))
        return None
    if _sqlite_code(exc) in _SQLITE_UNAVAILABLE:
        return DatabaseUnavailable(f"{exc.sqlite_errorname}: {exc}")
    return None


@contextmanager
def _sqlite_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        mapped = _translate(exc)
        if mapped is None:
            raise
        raise mapped from exc


class SqliteConnection:
    """The process's SQLite connection inside a transaction."""

    dialect: Dialect = "sqlite"
    autocommit = False

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def alone_in_time(self) -> bool:
        return True

    def _run(self, sql: str, args: Sequence[Any]) -> sqlite3.Cursor:
        with _sqlite_errors():
            return self._conn.execute(sqlite_sql(sql), args)

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
        with _sqlite_errors():
            self._conn.executemany(sqlite_sql(sql), args)

    async def copy_records(
        self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> None:
        """Bulk-insert rows: SQLite has no COPY, and one prepared INSERT run many times is as fast."""
        marks = ", ".join("?" for _ in columns)
        with _sqlite_errors():
            self._conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", records
            )

    async def copy_text(self, table: str, columns: Sequence[str], data: bytes) -> None:
        """SQLite has no COPY: its bulk writers hand rows to `copy_records`."""
        raise TypeError(f"COPY text data for {table} reached an SQLite database")


def connect_sqlite(path: str, *, busy_timeout_ms: int) -> sqlite3.Connection:
    """An SQLite connection with patron's settings: WAL, foreign keys, typed results."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path,
        timeout=busy_timeout_ms / 1000,  # also bounds the PRAGMAs below
        isolation_level=None,  # transactions are begun explicitly
        check_same_thread=False,
        detect_types=sqlite3.PARSE_DECLTYPES,
        cached_statements=512,
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    except BaseException:
        conn.close()  # a file that is not a usable database must not leak its handle
        raise
    return conn


def _rollback(conn: sqlite3.Connection) -> None:
    # After some errors (I/O, full disk) SQLite has already rolled back by itself; ROLLBACK would
    # then fail, and must not replace the error that is on its way to the caller.
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("SQLite rollback failed: %s", exc)


class SqliteDatabase:
    """One SQLite connection per process; units of work take turns on it."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: str, *, busy_timeout_ms: int) -> None:
        self._path = path
        self._busy_timeout_s = busy_timeout_ms / 1000
        self._conn: sqlite3.Connection | None = None
        self._open = False
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Connect now if the file is usable; otherwise log it, and the first unit of work retries."""
        self._open = True
        try:
            self._connection()
        except DatabaseUnavailable as exc:
            log.warning(
                "SQLite is unavailable at start; requests get 503 until it is back: %s", exc
            )

    async def close(self) -> None:
        self._open = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def usage(self) -> PoolUsage:
        """The one connection: open or not, and held by a unit of work or not."""
        size = 0 if self._conn is None else 1
        in_use = 1 if self._lock.locked() else 0
        return PoolUsage(size, in_use, max(size - in_use, 0), 1)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                conn = connect_sqlite(self._path, busy_timeout_ms=int(self._busy_timeout_s * 1000))
            except (sqlite3.Error, OSError) as exc:
                raise DatabaseUnavailable(f"cannot open {self._path}: {exc}") from exc
            # busy_timeout 0 from now on: a locked database is retried in _begin with
            # asyncio.sleep, so a writer in another process never blocks this event loop.
            conn.execute("PRAGMA busy_timeout=0")
            self._conn = conn
        return self._conn

    async def _begin(self, write: bool) -> sqlite3.Connection:
        """The process's connection with a transaction begun on it; the caller then holds the lock.

        One deadline bounds the whole wait: for this process's connection (units of work take
        turns on it) and for another process's write lock. Without it, units queued behind one
        that waits for the lock would each wait a busy timeout of their own after it.
        """
        statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        deadline = time.monotonic() + self._busy_timeout_s
        delay = 0.001
        while True:
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
                    await self._lock.acquire()
            except TimeoutError:
                raise DatabaseUnavailable("database stayed busy past the busy timeout") from None
            try:
                conn = self._connection()
                conn.execute(statement)
                return conn
            except sqlite3.Error as exc:
                self._lock.release()
                if _sqlite_code(exc) not in _SQLITE_BUSY:
                    mapped = _translate(exc)
                    if mapped is None:
                        raise
                    raise mapped from exc
                if time.monotonic() >= deadline:
                    raise DatabaseUnavailable("database is locked by another process") from exc
            except BaseException:
                self._lock.release()
                raise
            # Another process holds the write lock. Wait without holding the connection, so
            # that this process's other units of work (reads above all, which WAL lets through)
            # use it meanwhile instead of queueing behind this one.
            await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 0.05)

    def statements(self) -> AbstractAsyncContextManager[Connection]:
        # One writer at a time: the write transaction's lock already keeps writers apart.
        return self.transaction(write=True)

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[Connection]:
        if not self._open:
            raise DatabaseUnavailable("database is not open")
        conn = await self._begin(write)
        try:
            try:
                yield SqliteConnection(conn)
                with _sqlite_errors():
                    conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        finally:
            self._lock.release()
