"""The import rule holds: layers import downwards, the domain is pure, nothing imports in a circle.

The contracts live in pyproject.toml (`[tool.importlinter]`) and `make lint` runs them too. A
module no layer names would escape the rule, so every module must be placed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    contracts: list[dict[str, object]] = config["contracts"]
    return contracts


def _placed() -> set[str]:
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    assert isinstance(layers, list)
    return {name.strip() for layer in layers for name in re.split(r"[|:]", layer) if name.strip()}


def test_import_contracts_are_kept() -> None:
    assert lint_imports(config_filename=str(PYPROJECT), no_cache=True) == 0


def test_every_module_is_in_a_layer() -> None:
    placed = _placed()
    graph = grimp.build_graph("patron", cache_dir=None)
    unplaced = sorted(
        module
        for module in graph.modules
        if not graph.find_children(module)  # a package is placed through its modules
        and ".migrations" not in module  # Alembic's scripts, run by Alembic alone
        and not any(module == p or module.startswith(p + ".") for p in placed)
    )
    assert unplaced == []
