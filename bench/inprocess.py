"""patron in this process, over its ASGI interface, with every SQL statement it issues recorded.

`bench.verify` uses it to register twins and read customers back through the API, and
`bench.pgbench` to capture the statements of one update (and one read) exactly as patron issues
them. Nothing of patron is patched: the app's database object (`app.state.db`, through which
request handlers reach the database) is wrapped in a recorder that implements the same
`Database` protocol and hands out connections that log each call before passing it on.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from patron.app import create_app
from patron.config import Settings
from patron.db.driver import Connection, Database, Row


@dataclass
class Statement:
    """One call a repository made: the method, the SQL, its arguments and what came back."""

    method: str
    sql: str
    args: tuple[Any, ...]
    result: dict[str, Any] = field(default_factory=dict)
    """The row `fetchrow` returned, by column name (empty for other methods)."""


@dataclass
class Transaction:
    """The statements of one `Database.transaction()` block."""

    write: bool
    autocommit: bool = False
    """Each statement committed on its own (`Database.statements`): no BEGIN, no COMMIT."""
    statements: list[Statement] = field(default_factory=list)


class _RecordingConnection:
    """A `Connection` that logs every call into `tx` and delegates it."""

    def __init__(self, inner: Connection, tx: Transaction) -> None:
        self._inner = inner
        self._tx = tx
        self.dialect = inner.dialect
        self.autocommit = inner.autocommit

    def alone_in_time(self) -> bool:
        return self._inner.alone_in_time()

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        self._tx.statements.append(Statement("fetch", sql, args))
        return await self._inner.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        stmt = Statement("fetchrow", sql, args)
        self._tx.statements.append(stmt)
        row = await self._inner.fetchrow(sql, *args)
        if row is not None:
            stmt.result = {key: row[key] for key in list(row.keys())}
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self._tx.statements.append(Statement("fetchval", sql, args))
        return await self._inner.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        self._tx.statements.append(Statement("execute", sql, args))
        await self._inner.execute(sql, *args)

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(a) for a in args]
        for row in rows:
            self._tx.statements.append(Statement("executemany", sql, row))
        await self._inner.executemany(sql, rows)

    async def copy_records(
        self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> None:
        rows = [tuple(r) for r in records]
        self._tx.statements.append(Statement("copy_records", table, (columns, len(rows))))
        await self._inner.copy_records(table, columns, rows)

    async def copy_text(self, table: str, columns: Sequence[str], data: bytes) -> None:
        self._tx.statements.append(Statement("copy_text", table, (columns, data.count(b"\n"))))
        await self._inner.copy_text(table, columns, data)


class RecordingDatabase:
    """Wraps patron's `Database`; while `recording` is a list, transactions are logged into it."""

    def __init__(self, inner: Database) -> None:
        self._inner = inner
        self.dialect = inner.dialect
        self.recording: list[Transaction] | None = None

    async def open(self) -> None:
        await self._inner.open()

    async def close(self) -> None:
        await self._inner.close()

    def transaction(self, *, write: bool) -> AbstractAsyncContextManager[Connection]:
        return self._record(self._inner.transaction(write=write), write)

    def statements(self) -> AbstractAsyncContextManager[Connection]:
        return self._record(self._inner.statements(), True)

    @asynccontextmanager
    async def _record(
        self, unit: AbstractAsyncContextManager[Connection], write: bool
    ) -> AsyncIterator[Connection]:
        async with unit as conn:
            if self.recording is None:
                yield conn
            else:
                tx = Transaction(write, autocommit=conn.autocommit)
                self.recording.append(tx)
                yield _RecordingConnection(conn, tx)


@dataclass
class InProcessPatron:
    """A running in-process app, its recorder and an HTTP client speaking to it."""

    app: FastAPI
    db: RecordingDatabase
    client: httpx.AsyncClient


@asynccontextmanager
async def patron_app(database_url: str) -> AsyncIterator[InProcessPatron]:
    """Start patron's app on `database_url` in this process (lifespan included)."""
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_hex(32),
        admin_token=secrets.token_hex(24),
    )
    app = create_app(settings)
    recorder = RecordingDatabase(app.state.db)
    app.state.db = recorder
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://patron") as client:
            yield InProcessPatron(app, recorder, client)
