"""PATRON_DATABASE_POOLER=transaction: nothing outlives a transaction on a pooled connection."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import pytest

from patron.db.driver import Pooler, create_database
from tests.conftest import PG_ADMIN_URL, PG_POOLER_URL

PATRON = str(Path(sys.executable).with_name("patron"))


async def _session_state(url: str, pooler: Pooler) -> tuple[str, int, int]:
    """(statement_timeout inside a transaction, named prepared statements after two, after)."""
    db = create_database(url, pool_size=1, statement_timeout_ms=1234, pooler=pooler)
    await db.open()
    try:
        for _ in range(2):
            async with db.transaction(write=True) as conn:
                await conn.fetchval("SELECT count(*) FROM customers WHERE org_id = $1", "acme")
        async with db.transaction(write=False) as conn:
            timeout = str(await conn.fetchval("SHOW statement_timeout"))
            prepared = int(await conn.fetchval("SELECT count(*) FROM pg_prepared_statements"))
        async with db.transaction(write=False) as conn:
            prepared_later = int(await conn.fetchval("SELECT count(*) FROM pg_prepared_statements"))
        return timeout, prepared, prepared_later
    finally:
        await db.close()


def test_transaction_pooling_keeps_no_session_state(database_url: str, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("a pooler sits in front of PostgreSQL only")
    timeout, prepared, prepared_later = asyncio.run(_session_state(database_url, "transaction"))
    # The timeout still holds, set per transaction; no named statement is left on the server.
    assert timeout == "1234ms"
    assert prepared == 0 and prepared_later == 0


def test_without_a_pooler_statements_are_cached(database_url: str, backend: str) -> None:
    if backend != "postgresql" or PG_POOLER_URL:
        pytest.skip("PostgreSQL, reached directly")
    timeout, prepared, _ = asyncio.run(_session_state(database_url, "none"))
    assert timeout == "1234ms"
    assert prepared > 0


def test_migrations_run_through_the_pooler(backend: str) -> None:
    if backend != "postgresql" or not PG_POOLER_URL or not PG_ADMIN_URL:
        pytest.skip("needs PATRON_TEST_POSTGRES_POOLER_URL (as .ci/run sets)")
    name = f"patron_pooler_migrate_{os.getpid()}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        # From nothing, then again at head, each a process of its own as a deploy runs it: the
        # later runs meet the server connection the first one used, with the statements it
        # prepared there (asyncpg numbers its statement names from 1 in every process).
        url = urlparse(PG_POOLER_URL)._replace(path=f"/{name}").geturl()
        for _ in range(3):
            done = subprocess.run(
                [PATRON, "migrate", "--database-url", url], capture_output=True, text=True
            )
            assert done.returncode == 0, done.stderr[-2000:]
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    assert PG_ADMIN_URL
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
