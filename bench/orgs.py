"""Migrating a benchmark database and applying its orgs, with patron's own commands."""

from __future__ import annotations

import json
from pathlib import Path

from bench import dataset
from bench.common import TMP, log, run, venv_bin


def migrate(database_url: str) -> None:
    """`patron migrate --database-url URL`."""
    run(
        [venv_bin("patron"), "migrate", "--database-url", database_url],
        what=f"patron migrate {database_url}",
        timeout=300,
    )


def apply_orgs(database_url: str) -> list[str]:
    """`patron org apply` each benchmark org (the demo org under its own codes); their codes."""
    TMP.mkdir(parents=True, exist_ok=True)
    codes = []
    for index in range(dataset.ORG_COUNT):
        doc = dataset.org_document(index)
        path: Path = TMP / f"org-{doc['orgCode']}.json"
        path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        out = run(
            [venv_bin("patron"), "org", "apply", path, "--database-url", database_url],
            what=f"patron org apply {path.name}",
            timeout=120,
        )
        log(f"  {out.strip()}")
        codes.append(doc["orgCode"])
    return codes
