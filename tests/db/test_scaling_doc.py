"""docs/scaling.md distributes exactly the tables of the schema, each once, by org_id."""

from __future__ import annotations

import re
from pathlib import Path

from patron.db.tables import metadata

DOC = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"
STATEMENT = re.compile(
    r"SELECT create_distributed_table\('(\w+)', 'org_id'(?:, colocate_with => 'orgs')?\);"
)


def test_every_table_is_distributed_exactly_once() -> None:
    named = STATEMENT.findall(DOC.read_text())
    assert sorted(named) == sorted(metadata.tables), (
        "docs/scaling.md must list one create_distributed_table statement per table"
    )


def test_parents_are_distributed_before_their_children() -> None:
    order = {name: i for i, name in enumerate(STATEMENT.findall(DOC.read_text()))}
    for table in metadata.tables.values():
        for fk in table.foreign_keys:
            parent = fk.column.table.name
            assert order[parent] <= order[table.name], (table.name, parent)
