"""The build compiled what pyproject.toml lists under `[tool.patron] compiled` (setup.py).

A module that silently stayed Python would still pass every other test, only slower; the
benchmarks would then measure something else than what `pip install .` ships.
"""

import importlib
import importlib.machinery
import os
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _listed() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        names: list[str] = tomllib.load(f)["tool"]["patron"]["compiled"]
    return names


def test_the_list_names_existing_modules_once_in_order() -> None:
    names = _listed()
    assert names == sorted(set(names))
    for name in names:
        assert (ROOT / "src" / f"{name.replace('.', '/')}.py").is_file(), name


@pytest.mark.skipif(
    os.environ.get("PATRON_COMPILE") == "0", reason="PATRON_COMPILE=0 builds pure Python"
)
@pytest.mark.parametrize("name", _listed())
def test_the_module_that_runs_is_the_compiled_one(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), (
        f"{name} runs from {module.__file__}: `make` compiles it (setup.py)"
    )
