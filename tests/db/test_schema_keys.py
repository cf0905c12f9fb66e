"""The migrated database itself (not only the models) keeps org_id first in every key."""

from __future__ import annotations

import sqlalchemy as sa

from tests.db.test_migrations import _inspect

BOOKKEEPING = {"alembic_version"}


def test_every_key_of_the_migrated_schema_starts_with_org_id(database_url: str) -> None:
    def keys(conn: sa.Connection) -> list[tuple[str, str, list[str]]]:
        inspector = sa.inspect(conn)
        found = []
        for table in inspector.get_table_names():
            if table in BOOKKEEPING:
                continue
            pk = inspector.get_pk_constraint(table)
            found.append((table, "primary key", list(pk["constrained_columns"])))
            for uq in inspector.get_unique_constraints(table):
                found.append((table, f"unique {uq['name']}", list(uq["column_names"])))
            for ix in inspector.get_indexes(table):
                if ix["unique"]:
                    found.append((table, f"unique index {ix['name']}", list(ix["column_names"])))
        return found

    found = _inspect(database_url, keys)
    assert isinstance(found, list)
    tables = {table for table, _, _ in found}
    assert {"customers", "identifiers", "outbox"} <= tables
    broken = [(t, kind, cols) for t, kind, cols in found if not cols or cols[0] != "org_id"]
    assert broken == []
