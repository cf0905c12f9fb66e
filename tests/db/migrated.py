"""A database of a test's own, migrated to an earlier revision, on either backend: what the
tests of a data migration fill as an older release would have."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from patron.db.driver import Connection, create_database
from patron.db.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, _pg_admin


@contextmanager
def database_at(revision: str, backend: str, directory: Path) -> Iterator[str]:
    """The URL of a new database at `revision` (SQLite in `directory`); dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / f'at-{revision}.db'}"
        upgrade(url, revision)
        yield url
        return
    assert PG_ADMIN_URL
    name = f"patron_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = urlparse(PG_ADMIN_URL)._replace(path=f"/{name}").geturl()
        upgrade(url, revision)
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def in_database(url: str, fn: Callable[[Connection], Awaitable[Any]]) -> Any:
    """What `fn` returns, run in a write transaction of the database at `url`."""

    async def go() -> Any:
        db = create_database(url)
        await db.open()
        try:
            async with db.transaction(write=True) as conn:
                return await fn(conn)
        finally:
            await db.close()

    return asyncio.run(go())
