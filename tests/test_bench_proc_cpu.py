"""`bench.proc_cpu`: the CPU a command, its children and PostgreSQL spend, read from /proc."""

from __future__ import annotations

import os
import sys

import pytest
from bench.common import run
from bench.proc_cpu import (
    CHILDREN,
    COMMAND,
    POSTGRESQL,
    PROC,
    CpuSampler,
    Reading,
    group,
    parse_stat,
)

from tests.conftest import PG_ADMIN_URL

needs_proc = pytest.mark.skipif(not PROC.joinpath("self", "stat").exists(), reason="needs /proc")

# Busy for about `seconds` of CPU, in this process.
_SPIN = (
    "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"
)


def _cpu_of(code: str) -> dict[str, float]:
    """The CPU seconds by group while `python -c code` runs."""
    cpu = CpuSampler()
    cpu.baseline()
    try:
        run([sys.executable, "-c", code], what="a command", started=cpu.start)
    finally:
        cpu.stop()
    return cpu.seconds()


def test_a_stat_line_is_read_past_a_name_with_spaces_and_parentheses() -> None:
    line = "4242 (patron (x) y) S 17 4242 17 0 -1 4194304 10 0 0 0 250 50 0 0 20 0 1 0 5 0 0"
    reading = parse_stat(line)
    assert (reading.pid, reading.ppid, reading.comm) == (4242, 17, "patron (x) y")
    assert reading.seconds == (250 + 50) / os.sysconf("SC_CLK_TCK")


def test_processes_are_grouped_by_descent_from_the_command_then_by_name() -> None:
    parents = {10: 1, 11: 10, 12: 11, 20: 1, 30: 1}

    def reading(pid: int, comm: str) -> Reading:
        return Reading(pid, parents[pid], comm, 1.0)

    assert group(reading(10, "patron"), 10, parents) == COMMAND
    assert group(reading(11, "patron"), 10, parents) == CHILDREN
    assert group(reading(12, "patron"), 10, parents) == CHILDREN  # a grandchild
    assert group(reading(20, "postgres"), 10, parents) == POSTGRESQL
    assert group(reading(30, "redis-server"), 10, parents) is None
    # A child handed to init when its parent exited still counts under its first parent.
    assert group(Reading(11, 1, "patron", 1.0), 10, parents) == CHILDREN


@needs_proc
def test_the_command_and_its_children_are_measured_apart() -> None:
    parent = (
        "import multiprocessing, sys\n"
        f"spin = {_SPIN.format(seconds=0.6)!r}\n"
        "child = multiprocessing.get_context('spawn').Process(target=exec, args=(spin,))\n"
        "child.start(); child.join()\n" + _SPIN.format(seconds=0.3)
    )
    seconds = _cpu_of(parent)
    assert 0.45 <= seconds[CHILDREN] <= 1.5, seconds
    assert 0.25 <= seconds[COMMAND] <= 1.2, seconds


@needs_proc
@pytest.mark.skipif(PG_ADMIN_URL is None, reason="needs PostgreSQL")
def test_postgresql_work_the_command_asks_for_counts_as_postgresql() -> None:
    query = (
        "import asyncio, asyncpg\n"
        "async def main():\n"
        f"    conn = await asyncpg.connect({PG_ADMIN_URL!r})\n"
        "    await conn.fetchval('SELECT count(*) FROM generate_series(1, 4000000)')\n"
        "    await conn.close()\n"
        "asyncio.run(main())\n"
    )
    seconds = _cpu_of(query)
    assert seconds[POSTGRESQL] >= 0.2, seconds
    assert seconds[COMMAND] < seconds[POSTGRESQL], seconds
