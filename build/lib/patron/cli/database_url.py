"""The database URL of a command that works on an existing, migrated database."""

from __future__ import annotations

from pathlib import Path

from patron.db.driver import parse_database_url


def unusable(database_url: str) -> str | None:
    """Why such a command cannot use `database_url` (a sentence for the user), or None."""
    try:
        parsed = parse_database_url(database_url)
    except ValueError as exc:
        return f"--database-url: {exc}"
    # Opening a missing SQLite file would create an empty database; say what to do instead.
    if parsed.dialect == "sqlite" and not Path(parsed.sqlite_path).exists():
        return f"no database at {parsed.sqlite_path}: run `patron migrate` first"
    return None
