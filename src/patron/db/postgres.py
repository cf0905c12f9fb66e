"""PostgreSQL through asyncpg: a pool, prepared statements, one deadline per unit of work.

Behind a pooler in transaction mode (PgBouncer `pool_mode = transaction`) a client's
transactions may each run on a different server connection, so nothing may outlive one
transaction: the statement cache is off (asyncpg then uses unnamed prepared statements, which live
only until the next statement of the same transaction), no startup parameters are sent (PgBouncer
refuses those it does not know), and statement_timeout is set with SET LOCAL in each transaction.

Units of work get their connections in the order they asked. asyncpg's pool hands a returned
connection to the next waiter, but a unit of work that asks in between takes it first, and the
waiter that lost it goes to the back of the line; under load (32 requests of a worker for 10
connections) some requests lost again and again, and the in-process time of an update had a
p99 of nearly five times its median. A first-come, first-served turn in front of the pool, as
many as it has connections, means a unit of work only asks the pool when a connection is free.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
import orjson

from patron.db.base import (
    Connection,
    CustomerChanged,
    DatabaseUnavailable,
    Dialect,
    JsonText,
    Pooler,
    PoolUsage,
    Row,
    UniqueViolation,
    log,
)

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
    # jsonb's binary form: a version byte, then the text.
    if type(value) is JsonText:
        return b"\x01" + value.encode()
    return b"\x01" + orjson.dumps(value)


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
    """An asyncpg connection inside a transaction (or, `autocommit`, outside one), with errors
    mapped to ours."""

    dialect: Dialect = "postgresql"

    def __init__(
        self, conn: asyncpg.Connection, *, autocommit: bool = False, alone_by: float = 0.0
    ) -> None:
        self._conn = conn
        self.autocommit = autocommit
        self._alone_by = alone_by

    def alone_in_time(self) -> bool:
        return not self.autocommit or asyncio.get_running_loop().time() < self._alone_by

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
        except asyncpg.LockNotAvailableError as exc:
            if not self.autocommit:
                raise
            # A self-checking write met a row another transaction holds (FOR UPDATE NOWAIT).
            raise CustomerChanged(str(exc)) from exc

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

    async def copy_text(self, table: str, columns: Sequence[str], data: bytes) -> None:
        """Bulk-insert rows encoded by `patron.db.copy_text` (one round trip, no encoding here)."""
        try:
            # A memoryview: asyncpg would take bytes for a file name.
            await self._conn.copy_to_table(
                table, source=memoryview(data), columns=list(columns), format="text"
            )
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
        pooler: Pooler = "none",
    ) -> None:
        self._dsn = dsn
        self._pooler = pooler
        self._pool_size = pool_size
        self._statement_timeout_ms = statement_timeout_ms
        self._connect_timeout_s = connect_timeout_s
        self._timeout_s = timeout_s
        self._pool: asyncpg.Pool | None = None
        self._set_timeout: str | None = None
        # One turn per pooled connection, handed out first come, first served (made afresh by
        # `open`, on the loop that will use it).
        self._turns = asyncio.Semaphore(pool_size)

    async def open(self) -> None:
        """Create the pool, then try one connection; a database that is down is only logged."""
        # min_size=0: creating the pool connects nothing, so the service starts while the
        # database is down and answers 503 until it is back. Connections are made on demand,
        # and one the server closed (restart, terminated backend) is replaced on its next use.
        pooled = self._pooler == "transaction"
        self._turns = asyncio.Semaphore(self._pool_size)
        # application_name is one of the few startup parameters PgBouncer forwards; the
        # statement timeout is not, so behind it the timeout is set in each transaction instead.
        server_settings = {"application_name": "patron"}
        if not pooled:
            server_settings["statement_timeout"] = str(self._statement_timeout_ms)
        self._set_timeout = (
            f"SET LOCAL statement_timeout = {int(self._statement_timeout_ms)}" if pooled else None
        )
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
            server_settings=server_settings,
            # Named prepared statements are session state a transaction pooler cannot keep.
            statement_cache_size=0 if pooled else 100,
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

    def usage(self) -> PoolUsage:
        """The pool's connections: open, held by a unit of work, idle, and its maximum."""
        pool = self._pool
        if pool is None:
            return PoolUsage(0, 0, 0, self._pool_size)
        size, idle = pool.get_size(), pool.get_idle_size()
        return PoolUsage(size, size - idle, idle, pool.get_max_size())

    def transaction(self, *, write: bool) -> AbstractAsyncContextManager[Connection]:
        return self._unit(write=write, begin=True)

    def statements(self) -> AbstractAsyncContextManager[Connection]:
        # Behind a pooler the statement timeout is SET LOCAL, which needs a transaction; and
        # when the server's timeout is not shorter than patron's deadline, a statement patron
        # gave up on could still commit.
        alone = self._set_timeout is None and self._statement_timeout_ms / 1000 < self._timeout_s
        return self._unit(write=True, begin=not alone)

    @asynccontextmanager
    async def _unit(self, *, write: bool, begin: bool) -> AsyncIterator[Connection]:
        pool = self._pool
        if pool is None:
            raise DatabaseUnavailable("database is not open")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        conn: asyncpg.Connection | None = None
        broken = False
        turn = False
        try:
            # One deadline for the whole unit of work: waiting for a turn, for a pooled
            # connection or a new one, every statement and the commit. When it passes, the task
            # is cancelled where it waits (asyncpg then cancels the statement on the server) and
            # the caller gets DatabaseUnavailable instead of hanging on a database that does not
            # answer.
            async with asyncio.timeout_at(deadline):
                await self._turns.acquire()
                turn = True
                try:
                    conn = await pool.acquire()
                except asyncpg.PostgresError as exc:
                    # Any refusal while connecting (authentication, a missing database, too
                    # many connections) means there is no database to work with.
                    raise DatabaseUnavailable(_describe(exc)) from exc
                if not begin:
                    alone_by = deadline - self._statement_timeout_ms / 1000
                    yield PostgresConnection(conn, autocommit=True, alone_by=alone_by)
                else:
                    tx = (
                        conn.transaction()
                        if write
                        else conn.transaction(isolation="repeatable_read", readonly=True)
                    )
                    async with tx:
                        if self._set_timeout is not None:
                            await conn.execute(self._set_timeout)
                        yield PostgresConnection(conn)
        except _PG_UNAVAILABLE as exc:
            # A lost or silent connection (or one cut mid-statement by the deadline) is dropped;
            # one the server merely refused a statement on (a timeout, a rollback) is reused.
            broken = isinstance(exc, _PG_BROKEN)
            raise DatabaseUnavailable(_describe(exc)) from exc
        finally:
            try:
                if conn is not None:
                    await self._release(pool, conn, broken, max(deadline - loop.time(), 0.05))
            finally:
                # After the connection is back: the next turn finds it free in the pool.
                if turn:
                    self._turns.release()

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
