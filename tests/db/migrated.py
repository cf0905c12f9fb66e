"""A database of a test's own, migrated to an earlier revision, on either backend: what the
tests of a data migration fill as an older release would have."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

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
