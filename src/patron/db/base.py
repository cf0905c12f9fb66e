"""The driver's vocabulary, shared by both engines: rows, connections, databases, and the two
failures the service tells apart (a taken unique key, a database that cannot serve)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Dialect = Literal["postgresql", "sqlite"]

Pooler = Literal["none", "transaction"]
"""What sits between patron and PostgreSQL: nothing, or a pooler in transaction mode."""

log = logging.getLogger("patron.db")


class Row(Protocol):
    """A result row, indexable by column name or position (asyncpg.Record, sqlite3.Row)."""

    def __getitem__(self, key: str | int, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class JsonText(str):
    """JSON already encoded, for a JSON column: stored as it is, not encoded again.

    The import's preparing processes encode their rows' JSON values, so the text (not a tree
    of dicts) crosses to the importing process and is streamed into COPY unchanged.
    """

    __slots__ = ()


class CustomerChanged(Exception):
    """A self-checking write found the customer changed since it was read: nothing was written,
    and the unit of work is run again, holding the customer's lock this time."""


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
    """What repositories see: one connection inside one transaction, or (`autocommit`) one whose
    statements each commit on their own."""

    dialect: Dialect
    autocommit: bool
    """True in a unit of work from `Database.statements`: a read takes no lock, so a write must
    check in its own statement that what it read has not changed (`CustomerChanged`)."""

    def alone_in_time(self) -> bool:
        """Whether a statement that commits on its own, sent now, would be ended by the server's
        statement timeout before the unit of work's deadline passes (always, in a transaction).

        A statement patron has given up on must not commit later: in a transaction it cannot,
        as COMMIT is never sent; on its own it can, unless the server ends it first.
        """
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...

    async def execute(self, sql: str, *args: Any) -> None: ...

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None: ...

    async def copy_records(
        self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> None: ...

    async def copy_text(self, table: str, columns: Sequence[str], data: bytes) -> None:
        """Stream rows already in COPY's text form (`patron.db.copy_text`); PostgreSQL only."""
        ...


class Database(Protocol):
    """A pool (PostgreSQL) or a single connection (SQLite) handing out transactions."""

    dialect: Dialect

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self, *, write: bool) -> AbstractAsyncContextManager[Connection]: ...

    def statements(self) -> AbstractAsyncContextManager[Connection]:
        """A unit of work for a read followed by one self-checking write statement.

        On PostgreSQL without a pooler each statement commits on its own (`autocommit`): two
        round trips fewer than BEGIN and COMMIT, and no row lock held while the request is
        planned. Elsewhere it is a write transaction: on SQLite; behind a pooler, where the
        statement timeout needs a transaction; and when the server's statement timeout is not
        shorter than the unit of work's deadline.
        """
        ...

    def usage(self) -> PoolUsage:
        """How many connections are open and in use now (reads no database)."""
        ...


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """Connections open, held by a unit of work, idle, and the most the pool may open."""

    size: int
    in_use: int
    idle: int
    max: int
