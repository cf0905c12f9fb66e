"""Alembic environment: runs migrations on SQLite (pysqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool, text
from sqlalchemy.engine import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

from patron.db.tables import metadata

config = context.config
_url = config.get_main_option("sqlalchemy.url")
assert _url, "patron.db.migrate sets sqlalchemy.url"
url: str = _url

# An arbitrary constant: concurrent migrators on one PostgreSQL database take turns.
_MIGRATION_LOCK = 726_912_001


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if url.startswith("postgresql"):
    asyncio.run(_run_async())
else:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()
