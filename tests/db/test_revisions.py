"""The migrations' head is read from the files, as Alembic reads it, without importing Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from patron.db.migrate import alembic_config
from patron.db.revisions import head_revision


def _migration(directory: Path, name: str, body: str) -> None:
    (directory / f"{name}.py").write_text(
        f'"""{name}"""\n{body}\n\ndef upgrade() -> None:\n    pass\n'
    )


def test_the_packaged_head_is_alembics() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    assert [head_revision()] == script.get_heads()


def test_plain_annotated_and_merge_declarations(tmp_path: Path) -> None:
    _migration(tmp_path, "a", 'revision = "a"\ndown_revision = None')
    _migration(tmp_path, "b", 'revision: str = "b"\ndown_revision: str | None = "a"')
    _migration(tmp_path, "c", 'revision = "c"\ndown_revision = "a"')
    _migration(tmp_path, "d", 'revision = "d"\ndown_revision = ("b", "c")')
    assert head_revision(tmp_path) == "d"


def test_two_heads_are_an_error(tmp_path: Path) -> None:
    _migration(tmp_path, "a", 'revision = "a"\ndown_revision = None')
    _migration(tmp_path, "b", 'revision = "b"\ndown_revision = "a"')
    _migration(tmp_path, "c", 'revision = "c"\ndown_revision = "a"')
    with pytest.raises(ValueError, match=r"2 heads: \['b', 'c'\]"):
        head_revision(tmp_path)


def test_a_file_without_a_revision_is_an_error(tmp_path: Path) -> None:
    _migration(tmp_path, "a", "down_revision = None")
    with pytest.raises(ValueError, match=r"a\.py declares no revision"):
        head_revision(tmp_path)


def test_serving_does_not_import_alembic_or_sqlalchemy(tmp_path: Path) -> None:
    # A worker spawned by `patron serve --workers N` imports the CLI (its parent's main module),
    # builds the app and answers readiness: none of that needs the migration tooling.
    code = (
        "import sys\n"
        "import patron.cli.main\n"
        "from patron.app import create_app\n"
        "from patron.config import Settings\n"
        "from patron.observability.health import expected_revision\n"
        f"create_app(Settings(database_url='sqlite:///{tmp_path}/x.db'))\n"
        "expected_revision()\n"
        "print(sorted(m for m in ('alembic', 'sqlalchemy', 'mako') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_importing_does_not_import_sqlalchemy() -> None:
    # `patron import` starts with one core idle until its preparing processes have batches: the
    # table metadata it would load only for COPY's column names cost a sixth of a second there.
    code = (
        "import sys\n"
        "import patron.cli.main, patron.cli.bulk, patron.bulk.importer, patron.bulk.workers\n"
        "print(sorted(m for m in ('alembic', 'sqlalchemy', 'mako') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
