"""PATRON_DATABASE_POOLER=transaction: nothing outlives a transaction on a pooled connection."""

from __future__ import annotations

import asyncio

import pytest

from patron.db.driver import Pooler, create_database


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
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    timeout, prepared, _ = asyncio.run(_session_state(database_url, "none"))
    assert timeout == "1234ms"
    assert prepared > 0
