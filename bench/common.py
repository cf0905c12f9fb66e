"""Shared helpers of the benchmark scripts: paths, logging, subprocesses, loud failures."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import uvloop

from patron.config import Settings

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TMP = BENCH / "results" / "tmp"
"""Scratch files of a run (org documents, server logs, pgbench scripts and logs); git-ignored."""

_START = time.monotonic()


class BenchError(RuntimeError):
    """A benchmark step failed; the message says which and why. `make bench` exits non-zero."""


def log(message: str) -> None:
    """Print a progress line with the seconds since the run started."""
    print(f"[bench {time.monotonic() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


def server_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """New event loops of the kind `patron serve` runs (PATRON_EVENT_LOOP), for in-process runs."""
    if Settings().event_loop == "uvloop":
        return uvloop.new_event_loop
    return asyncio.new_event_loop


def venv_bin(name: str) -> Path:
    """A console script of the virtual environment running this interpreter (e.g. `patron`)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise BenchError(f"{path} does not exist: run the benchmark with the project's venv")
    return path


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    started: Callable[[int], None] | None = None,
) -> str:
    """Run a command to completion and return its stdout; BenchError with its output if it fails.

    `started` is called with the command's pid as soon as it runs (to follow its CPU, say)."""
    try:
        process = subprocess.Popen(
            [str(c) for c in cmd],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=None if env is None else {**os.environ, **env},
            cwd=ROOT,
        )
    except FileNotFoundError as exc:
        raise BenchError(f"{what}: {exc.filename} is not installed") from None
    with process:
        if started is not None:
            started(process.pid)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise BenchError(f"{what}: did not finish within {timeout:.0f} s") from None
    if process.returncode != 0:
        output = "\n".join(s for s in (stdout.strip(), stderr.strip()) if s)
        raise BenchError(f"{what} failed (exit {process.returncode}):\n{output[-4000:]}")
    return stdout


def env_int(name: str, default: int) -> int:
    """An integer from the environment (BenchError when it is not one)."""
    raw = os.environ.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    if not raw.isdigit():
        raise BenchError(f"{name}={os.environ[name]!r} is not a whole number")
    return int(raw)


def env_float(name: str, default: float) -> float:
    """A number from the environment (BenchError when it is not one)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise BenchError(f"{name}={raw!r} is not a number") from None
