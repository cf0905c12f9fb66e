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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import asyncpg
import orjson

Dialect = Literal["postgresql", "sqlite"]

log = logging.getLogger("patron.db")


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
    """The database cannot be reached, failed mid-way, or stayed busy past the configured wait.

    The message is for the log only: the API answers 503 with a fixed text (no SQL, no trace).
    """


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

    async def copy_records(
        self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> None: ...


class Database(Protocol):
    """A pool (PostgreSQL) or a single connection (SQLite) handing out transactions."""

    dialect: Dialect

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self, *, write: bool) -> AbstractAsyncContextManager[Connection]: ...


def create_database(
    url: str,
    *,
    pool_size: int = 10,
    busy_timeout_ms: int = 5000,
    statement_timeout_ms: int = 5000,
    connect_timeout_s: float = 5.0,
    timeout_s: float = 10.0,
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
    )


# --- PostgreSQL ---------------------------------------------------------------------------

# Errors that say the database is gone, refusing or overloaded, never that the request was wrong:
# lost, refused or timed-out connections (OSError covers TimeoutError and ConnectionResetError;
# InterfaceError covers "connection is closed"), class 08 (connection exception), class 57
# (operator intervention: admin or crash shutdown, cannot connect now, statement timeout),
# class 53 (insufficient resources: too many connections, disk full), class 58 (system error)
# and class 40 (the server rolled the transaction back; a retry can succeed). InternalClientError
# is what asyncpg raises when a statement meets a connection the server has just terminated
# between two statements ("cannot switch to state ...").
_PG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.PostgresSystemError,
    asyncpg.exceptions.TransactionRollbackError,
)


_PG_BROKEN: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.PostgresConnectionError,
)


def _describe(exc: BaseException) -> str:
    """A log line for a database fault (a TimeoutError has no message of its own)."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _jsonb_binary(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)  # jsonb's binary form: a version byte, then the text


def _jsonb_from_binary(data: bytes) -> Any:
    return orjson.loads(data[1:])


async def _init_pg_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs: the same Python values in and out as text ones, and COPY (binary only in
    # asyncpg) can carry JSON columns.
    await conn.set_type_codec(
        "json", encoder=orjson.dumps, decoder=orjson.loads, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb",
        encoder=_jsonb_binary,
        decoder=_jsonb_from_binary,
        schema="pg_catalog",
        format="binary",
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset on release (RESET ALL, UNLISTEN, ...): a round trip per request.

    patron never changes session state: no SET, no LISTEN, no session advisory locks (org
    applies take a transaction-scoped one), no cursors outliving their transaction.
    """


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

    async def copy_records(
        self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> None:
        """Bulk-insert rows with binary COPY (one round trip for any number of rows)."""
        try:
            await self._conn.copy_records_to_table(table, columns=list(columns), records=records)
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(exc.table_name, str(exc)) from exc


class PostgresDatabase:
    """An asyncpg pool; each transaction holds one pooled connection, within one deadline."""

    dialect: Dialect = "postgresql"

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int,
        statement_timeout_ms: int,
        connect_timeout_s: float,
        timeout_s: float,
    ) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._statement_timeout_ms = statement_timeout_ms
        self._connect_timeout_s = connect_timeout_s
        self._timeout_s = timeout_s
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """Create the pool, then try one connection; a database that is down is only logged."""
        # min_size=0: creating the pool connects nothing, so the service starts while the
        # database is down and answers 503 until it is back. Connections are made on demand,
        # and one the server closed (restart, terminated backend) is replaced on its next use.
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=0,
            max_size=self._pool_size,
            init=_init_pg_connection,
            reset=_keep_session,
            timeout=self._connect_timeout_s,
            # Client-side bound on each statement and on asyncpg's own cancel requests, for a
            # server that stopped answering without closing the socket.
            command_timeout=self._timeout_s,
            server_settings={
                "application_name": "patron",
                "statement_timeout": str(self._statement_timeout_ms),
            },
        )
        try:
            async with self.transaction(write=False) as conn:
                await conn.fetchval("SELECT 1")
        except DatabaseUnavailable as exc:
            log.warning(
                "PostgreSQL is unavailable at start; requests get 503 until it is back: %s", exc
            )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            # A graceful close says goodbye to the server; one that no longer answers must not
            # hold up shutdown.
            await asyncio.wait_for(pool.close(), self._timeout_s)
        except Exception as exc:
            log.warning("PostgreSQL pool closed abruptly: %s", _describe(exc))
            pool.terminate()

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[Connection]:
        pool = self._pool
        if pool is None:
            raise DatabaseUnavailable("database is not open")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        conn: asyncpg.Connection | None = None
        broken = False
        try:
            # One deadline for the whole unit of work: waiting for a pooled connection or a new
            # one, every statement and the commit. When it passes, the task is cancelled where it
            # waits (asyncpg then cancels the statement on the server) and the caller gets
            # DatabaseUnavailable instead of hanging on a database that does not answer.
            async with asyncio.timeout_at(deadline):
                try:
                    conn = await pool.acquire()
                except asyncpg.PostgresError as exc:
                    # Any refusal while connecting (authentication, a missing database, too
                    # many connections) means there is no database to work with.
                    raise DatabaseUnavailable(_describe(exc)) from exc
                tx = (
                    conn.transaction()
                    if write
                    else conn.transaction(isolation="repeatable_read", readonly=True)
                )
                async with tx:
                    yield PostgresConnection(conn)
        except _PG_UNAVAILABLE as exc:
            # A lost or silent connection (or one cut mid-statement by the deadline) is dropped;
            # one the server merely refused a statement on (a timeout, a rollback) is reused.
            broken = isinstance(exc, _PG_BROKEN)
            raise DatabaseUnavailable(_describe(exc)) from exc
        finally:
            if conn is not None:
                await self._release(pool, conn, broken, max(deadline - loop.time(), 0.05))

    async def _release(
        self, pool: asyncpg.Pool, conn: asyncpg.Connection, broken: bool, budget: float
    ) -> None:
        if broken:
            # After a fault the connection is suspect (lost, stalled or mid-cancel): drop it now
            # rather than spend more time on a graceful reset; the next acquire makes a new one.
            # A connection the server closed has already gone back to the pool by itself.
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.terminate()
        try:
            # Within what is left of the deadline, so handing the connection back cannot make
            # the unit of work outlast its bound either.
            await pool.release(conn, timeout=budget)
        except Exception as exc:
            # asyncpg has already terminated a connection it could not reset; the unit of
            # work's outcome is decided, so do not change it.
            log.info("dropped a PostgreSQL connection on release: %s", _describe(exc))


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

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

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
