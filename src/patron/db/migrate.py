"""Run the Alembic migrations programmatically (used by `patron migrate`, `serve` and tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from patron.db.driver import parse_database_url

_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at `database_url` (plain patron form accepted)."""
    cfg = Config(str(_INI))
    cfg.set_main_option("sqlalchemy.url", parse_database_url(database_url).sqlalchemy_url)
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the latest)."""
    if _in_event_loop():
        # env.py runs its own event loop for asyncpg, which cannot nest in a running one.
        raise RuntimeError("run migrations before the event loop starts")
    command.upgrade(alembic_config(database_url), revision)


def current_revision_sync(connection: object) -> str | None:
    """The revision a SQLAlchemy connection's database is at."""
    return MigrationContext.configure(connection).get_current_revision()  # type: ignore[arg-type]


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
