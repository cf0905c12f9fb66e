"""The head of the packaged migrations, read from their files without importing Alembic.

The readiness check compares it with the database's `alembic_version`. Alembic and SQLAlchemy
are needed to run migrations, never to serve requests, and importing them only to name the head
cost every worker about 23 MB of resident memory. Each migration file declares its own
`revision = "..."` and `down_revision = ...`; the head is the one revision no other names as its
parent. tests/db/test_revisions.py holds this to Alembic's own answer.
"""

from __future__ import annotations

import ast
from pathlib import Path

VERSIONS = Path(__file__).with_name("migrations") / "versions"


def _declared(path: Path) -> tuple[str, tuple[str, ...]]:
    """(revision, parents) as the module assigns them at its top level."""
    values: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            values[target.id] = ast.literal_eval(value)  # type: ignore[arg-type]
    revision = values.get("revision")
    if not isinstance(revision, str):
        raise ValueError(f"{path.name} declares no revision")
    # None for the first migration, a string, or a tuple of them for a merge.
    parent = values.get("down_revision")
    if isinstance(parent, str):
        return revision, (parent,)
    return revision, tuple(str(p) for p in parent or ())  # type: ignore[attr-defined]


def head_revision(versions: Path = VERSIONS) -> str:
    """The one revision of `versions` that no other revision descends from."""
    declared = [_declared(path) for path in sorted(versions.glob("*.py"))]
    parents = {parent for _, of in declared for parent in of}
    heads = sorted(revision for revision, _ in declared if revision not in parents)
    if len(heads) != 1:
        raise ValueError(f"the migrations in {versions} have {len(heads) or 'no'} heads: {heads}")
    return heads[0]
