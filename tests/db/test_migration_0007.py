"""Migration 0007 fills identifier_owners from stored identifiers and reports, never deletes,
values that two customers already hold."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from patron.db.migrate import alembic_config, upgrade

NOW = "2026-01-01 00:00:00+00:00"


def _before_0007() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    down = script.get_revision("0007").down_revision
    assert isinstance(down, str)
    return down


def _seed(path: Path) -> None:
    """Customers 1-3 of org `o`: 1 and 2 both hold mobile 919800000001 (1 in two sources)."""
    db = sqlite3.connect(path)
    with db:
        db.execute("INSERT INTO orgs VALUES ('o', 'O', 'IN', 0, 1, ?)", (NOW,))
        rows = [
            (1, "INSTORE", "mobile", "919800000001"),
            (1, "ECOMMERCE", "mobile", "919800000001"),
            (2, "WEBSITE", "mobile", "919800000001"),
            (2, "WEBSITE", "email", "b@example.com"),
            (3, "INSTORE", "email", "c@example.com"),
        ]
        for cid in (1, 2, 3):
            db.execute(
                "INSERT INTO customers VALUES ('o', ?, 1, 'non_loyalty', '{}', ?, ?)",
                (cid, NOW, NOW),
            )
        for cid, source in {(r[0], r[1]) for r in rows}:
            db.execute(
                "INSERT INTO profiles (org_id, customer_id, source, account_id, fields, created_at,"
                " created_by, created_by_type, modified_at, modified_by, modified_by_type)"
                " VALUES ('o', ?, ?, '', '{}', ?, 't', 'TILL', ?, 't', 'TILL')",
                (cid, source, NOW, NOW),
            )
        for n, (cid, source, type_, value) in enumerate(rows):
            db.execute(
                "INSERT INTO identifiers VALUES ('o', ?, '', ?, ?, ?, ?)",
                (source, type_, value, cid, n),
            )
    db.close()


def test_owners_are_filled_and_existing_duplicates_reported_not_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    upgrade(url, _before_0007())
    _seed(path)
    with caplog.at_level(logging.WARNING, logger="patron.migrations"):
        upgrade(url, "0007")

    db = sqlite3.connect(path)
    owners = set(db.execute("SELECT org_id, type, value, customer_id FROM identifier_owners"))
    assert owners == {
        ("o", "mobile", "919800000001", 1),  # the lowest id of its two holders
        ("o", "email", "b@example.com", 2),
        ("o", "email", "c@example.com", 3),
    }
    assert db.execute("SELECT COUNT(*) FROM identifiers").fetchone() == (5,)
    db.close()
    [report] = [r for r in caplog.records if r.name == "patron.migrations"]
    assert report.levelname == "WARNING"
    assert report.fields == {  # type: ignore[attr-defined]
        "org": "o",
        "type": "mobile",
        "value": "919800000001",
        "escaped": "'919800000001'",
        "customers": [1, 2],
        "owner": 1,
    }
