"""CPU seconds by process while a command runs, read from /proc (Linux).

The import's pace is set by how the machine's cores are shared between the command's own
process, the preparing processes it forks and PostgreSQL's backends; so the import benchmark
reports each one's CPU beside the wall time. Every process's user and system time is read
from /proc/<pid>/stat every `interval` seconds; a process that exits between two readings loses
at most that interval of its CPU. A reading of every process costs about 1.6 ms of CPU, so at
the default interval the sampler takes under 2% of one core from the command it measures.
Elsewhere than on Linux nothing is measured.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = Path("/proc")

COMMAND, CHILDREN, POSTGRESQL = "command", "children", "postgresql"
"""The groups a process is counted in (any other process is not counted)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One process as /proc shows it: its parent, its name, its CPU seconds so far."""

    pid: int
    ppid: int
    comm: str
    seconds: float


def parse_stat(text: str) -> Reading:
    """A /proc/<pid>/stat line. Pure. The name is in parentheses and may itself hold spaces and
    parentheses, so the fields after it are found from the last `)`."""
    head, _, tail = text.rpartition(")")
    pid, _, comm = head.partition(" (")
    fields = tail.split()
    # After the name: state, ppid, ..., utime (the 12th) and stime (the 13th).
    return Reading(int(pid), int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / _TICKS)


def read_all() -> dict[int, Reading]:
    """Every process /proc shows now (processes that exit while it is read are skipped)."""
    # os.listdir and open, not pathlib: this runs beside the measured command, on its cores.
    found: dict[int, Reading] = {}
    for name in os.listdir(PROC):
        if not name.isdigit():
            continue
        try:
            with open(PROC / name / "stat", "rb") as f:
                found[int(name)] = parse_stat(f.read().decode())
        except (OSError, ValueError, IndexError):
            continue
    return found


def group(reading: Reading, root: int, parents: dict[int, int]) -> str | None:
    """Which group a process counts in: the command (`root`), its descendants, PostgreSQL's
    processes, or none. Pure; `parents` maps every pid seen to its (first) parent's."""
    if reading.pid == root:
        return COMMAND
    pid, seen = parents.get(reading.pid, reading.ppid), 0
    while pid > 1 and seen < 64:
        if pid == root:
            return CHILDREN
        pid, seen = parents.get(pid, 0), seen + 1
    if reading.comm.startswith("postgres"):
        return POSTGRESQL
    return None


class CpuSampler:
    """Samples every process's CPU in the background between `start(root)` and `stop()`; then
    `seconds()` gives the CPU each group spent in between."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.available = PROC.joinpath("self", "stat").exists()
        self._root = 0
        self._before: dict[int, Reading] = {}
        self._last: dict[int, Reading] = {}
        self._parents: dict[int, int] = {}
        """Each pid's first parent: a process whose parent exits is handed to init, and
        would no longer be seen as a descendant."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def baseline(self) -> None:
        """Read every process once, before the command starts: what they spend from now on
        counts."""
        if self.available:
            self._before = read_all()
            self._last = {}
            self._read()

    def start(self, root: int) -> None:
        """Follow the command whose process is `root` (and its descendants), in the background."""
        self._root = root
        if not self.available:
            return

        def sample() -> None:
            while not self._stop.is_set():
                self._read()
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=sample, name="cpu-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Take the last reading and stop sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._read()

    def _read(self) -> None:
        for pid, reading in read_all().items():
            self._last[pid] = reading
            self._parents.setdefault(pid, reading.ppid)

    def seconds(self) -> dict[str, float]:
        """CPU seconds per group since `baseline()`, rounded to 0.01 s ({} when not measured)."""
        if not self.available or not self._root:
            return {}
        totals = {COMMAND: 0.0, CHILDREN: 0.0, POSTGRESQL: 0.0}
        for pid, reading in self._last.items():
            name = group(reading, self._root, self._parents)
            if name is None:
                continue
            before = self._before.get(pid)
            # A pid that was reused by a new process starts from nothing.
            start = before.seconds if before is not None and before.comm == reading.comm else 0.0
            totals[name] += max(0.0, reading.seconds - start)
        return {name: round(value, 2) for name, value in totals.items()}
