"""Driving a server with wrk and bench/lua/customers.lua, and reading what it measured."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import dataset
from bench.common import BENCH, BenchError, log, run

LUA = BENCH / "lua" / "customers.lua"


def ensure_wrk() -> str:
    """The wrk binary; installs the Debian package when it is missing (the bench runs as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is not installed: apt-get install -y wrk")
    run(["apt-get", "install", "-y", "wrk"], what="apt-get install -y wrk", timeout=600)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is still missing after apt-get install -y wrk")
    return found


@dataclass
class EnrolPool:
    """The customers of one database not yet enrolled, handed out to successive runs in order."""

    customers: int
    next_index: int = 0

    @property
    def size(self) -> int:
        """How many non-enrolled customers there are in all."""
        return dataset.pool_size(self.customers)

    def advance(self, threads: int, per_thread_max: int) -> None:
        """Skip past every index a run may have used."""
        self.next_index += threads * per_thread_max


@dataclass
class WrkResult:
    """One wrk run: throughput, latency percentiles (ms) and errors."""

    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    requests: int
    seconds: float
    connections: int
    errors: dict[str, int] = field(default_factory=dict)
    enrolments: int = 0
    """Upper bound of the enrolments sent (threads x the busiest thread's count)."""
    pool_exhausted: int = 0

    def as_dict(self) -> dict[str, Any]:
        """As plain JSON data."""
        return asdict(self)


def run_wrk(
    url: str,
    *,
    mode: str,
    customers: int,
    connections: int,
    threads: int,
    seconds: float,
    pool: EnrolPool | None,
    enrol_percent: float = 5.0,
    prefix: str = "",
    check: bool = False,
    seed: int = 1,
) -> WrkResult:
    """Run wrk against `url` and return its figures; BenchError on any failed request."""
    threads = min(threads, connections)
    pool_start = pool.next_index if pool else 0
    pool_size = pool.size if pool else 0
    cmd = [
        ensure_wrk(), "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
        "--timeout", "10s", "-s", str(LUA), url, "--",
        mode, str(customers), str(pool_start), str(pool_size),
        str(enrol_percent if pool else 0), str(threads), prefix or "-", "1" if check else "0",
        str(seed),
        *(dataset.basic_auth(dataset.org_code(i)) for i in range(dataset.ORG_COUNT)),
    ]  # fmt: skip
    out = run(cmd, what=f"wrk {mode} {url}", timeout=seconds + 120)
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise BenchError(f"wrk printed no BENCH_JSON line:\n{out}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    bad = next((ln for ln in out.splitlines() if ln.startswith("BENCH_BAD ")), "")
    if pool is not None:
        pool.advance(threads, int(data["enrolled_per_thread_max"]))
    duration = data["duration_us"] / 1e6
    errors = {k: int(v) for k, v in data["errors"].items()}
    result = WrkResult(
        rps=round(data["requests"] / duration, 1) if duration else 0.0,
        p50_ms=round(data["p50_us"] / 1000, 2),
        p90_ms=round(data["p90_us"] / 1000, 2),
        p99_ms=round(data["p99_us"] / 1000, 2),
        max_ms=round(data["max_us"] / 1000, 2),
        mean_ms=round(data["mean_us"] / 1000, 2),
        requests=int(data["requests"]),
        seconds=round(duration, 2),
        connections=connections,
        errors=errors,
        enrolments=threads * int(data["enrolled_per_thread_max"]) if pool else 0,
        pool_exhausted=int(data["pool_exhausted"]),
    )
    failed = errors["status"] + errors["connect"] + errors["read"] + errors["write"]
    if failed:
        sample = bad.removeprefix("BENCH_BAD ") or "(run with check to capture an answer)"
        raise BenchError(
            f"wrk {mode} {url}: {failed} failed requests of {result.requests} {errors};"
            f" first bad answer: {sample[:2000]}"
        )
    if errors["timeout"]:
        log(f"  warning: {errors['timeout']} requests timed out (10 s)")
    if result.pool_exhausted:
        log(f"  warning: {result.pool_exhausted} enrolments skipped: no fresh customer left")
    return result
