"""Showing an import's progress on stderr: a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import IO, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PLAIN_EVERY_S = 5.0
"""Seconds between two summary lines when stderr is not a terminal."""


class Reporter(Protocol):
    """What the importer tells about its progress."""

    def __enter__(self) -> Reporter: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def update(self, done: int, refused: int) -> None:
        """`done` lines handled so far in this run (applied or refused), `refused` of them refused."""


class RichReporter:
    """A progress bar with lines done / total, rate, ETA and the refused count."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self._bar = Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8} lines/s"),
            TextColumn("refused {task.fields[refused]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=stream),
        )
        self._total = total
        self._task: TaskID | None = None
        self._started = time.monotonic()

    def __enter__(self) -> RichReporter:
        self._bar.start()
        self._task = self._bar.add_task("import", total=self._total, rate="-", refused=0)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()

    def update(self, done: int, refused: int) -> None:
        """Move the bar."""
        assert self._task is not None
        elapsed = max(time.monotonic() - self._started, 1e-6)
        self._bar.update(
            self._task, completed=done, rate=f"{done / elapsed:,.0f}", refused=f"{refused:,}"
        )


class PlainReporter:
    """One summary line every PLAIN_EVERY_S seconds (logs and pipes get no control codes)."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self._total = total
        self._stream = stream
        self._started = time.monotonic()
        self._last = self._started

    def __enter__(self) -> PlainReporter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def update(self, done: int, refused: int) -> None:
        """Print a line when the last one is old enough."""
        now = time.monotonic()
        if now - self._last < PLAIN_EVERY_S:
            return
        self._last = now
        rate = done / max(now - self._started, 1e-6)
        eta = (self._total - done) / rate if rate else 0.0
        print(
            f"import: {done:,}/{self._total:,} lines, {refused:,} refused,"
            f" {rate:,.0f} lines/s, ETA {eta:,.0f} s",
            file=self._stream,
            flush=True,
        )


def reporter(total: int, stream: IO[str] | None = None) -> Reporter:
    """A bar when `stream` (default stderr) is a terminal, plain lines otherwise."""
    out = stream or sys.stderr
    return RichReporter(total, out) if out.isatty() else PlainReporter(total, out)
