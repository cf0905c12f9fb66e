"""Build patron, compiling its per-line domain modules with mypyc (docs/performance.md).

The modules listed under `[tool.patron] compiled` in pyproject.toml are turned into C extension
modules beside their sources; everything else stays Python. `PATRON_COMPILE=0` builds pure
Python (the same code, slower: no C compiler needed).

`make` builds in place (`python setup.py build_ext --inplace`), so the tests and the benchmarks
run the compiled modules; `pip install .` compiles them into the wheel.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def compiled_modules() -> list[str]:
    """The source paths of the modules to compile, as pyproject.toml lists them."""
    with (HERE / "pyproject.toml").open("rb") as f:
        names: list[str] = tomllib.load(f)["tool"]["patron"]["compiled"]
    return [f"src/{name.replace('.', '/')}.py" for name in names]


def ext_modules() -> list[object]:
    """The extension modules mypyc builds from `compiled_modules()`; none with PATRON_COMPILE=0."""
    if os.environ.get("PATRON_COMPILE", "1") == "0":
        return []
    from mypyc.build import mypycify

    # No config file: the project's mypy settings (strict, the pydantic plugin) are for `make
    # lint`; an isolated build environment has none of the libraries installed, which are then
    # typed as Any. Compiling needs only the modules' own annotations.
    return mypycify(
        ["--config-file=", "--ignore-missing-imports", *compiled_modules()],
        group_name="patron",
        opt_level="3",
    )


setup(ext_modules=ext_modules())
