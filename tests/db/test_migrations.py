"""Migrations build the schema the models describe, on each backend; keys start with org_id."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from patron.db.driver import parse_database_url
from patron.db.migrate import alembic_config
from patron.db.revisions import head_revision
from patron.db.tables import metadata


def _inspect(database_url: str, fn: object) -> object:
    url = parse_database_url(database_url).sqlalchemy_url
    if url.startswith("sqlite"):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            result = fn(conn)  # type: ignore[operator]
        engine.dispose()
        return result

    async def go() -> object:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            result = await conn.run_sync(fn)  # type: ignore[arg-type]
        await engine.dispose()
        return result

    return asyncio.run(go())


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db")).get_heads()
    assert heads == [head_revision()]


def test_database_is_at_head_and_matches_models(database_url: str) -> None:
    def check(conn: sa.Connection) -> tuple[str | None, list[object]]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return ctx.get_current_revision(), compare_metadata(ctx, metadata)

    revision, diff = _inspect(database_url, check)  # type: ignore[misc]
    assert revision == head_revision()
    assert diff == []


def test_every_table_has_org_id_leading_every_key() -> None:
    for table in metadata.tables.values():
        assert "org_id" in table.c, table.name
        assert table.primary_key.columns.keys()[0] == "org_id", table.name
        for constraint in table.constraints:
            if isinstance(constraint, sa.UniqueConstraint):
                assert constraint.columns.keys()[0] == "org_id", (table.name, constraint.name)
        for index in table.indexes:
            if index.unique:
                assert index.columns.keys()[0] == "org_id", (table.name, index.name)
