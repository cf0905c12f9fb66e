"""Garbage collection settled or not: one patron server under the same load, both ways, in turn.

patron is started with Python's own collector settings (`PATRON_GC_FREEZE=false`,
`PATRON_GC_GEN0_THRESHOLD=700`) and with its defaults (freeze after start-up, gen-0 threshold
`patron.config.GC_GEN0_THRESHOLD`), rounds alternating (old new new old ...). Each run drives
updates by lookup with wrk at N connections and records, besides wrk's p50 and p99, the GC pauses
and event-loop lag the server's own /metrics reports for the run (bench/stalls.py).

`make bench` runs it on its PostgreSQL database; on its own, on a small SQLite file:

    python -m bench.gc_effect --sqlite-customers 20000 --seconds 25 --rounds 2
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from bench import stalls
from bench.common import TMP, BenchError, log
from bench.load_sqlite import load as load_sqlite
from bench.servers import patron_server, rss_mb, running
from bench.wrk import WrkResult, run_wrk
from patron.config import GC_GEN0_THRESHOLD
from patron.runtime import DEFAULT_GEN0_THRESHOLD

SETTINGS: dict[str, dict[str, str]] = {
    "python_default": {"PATRON_GC_FREEZE": "false", "PATRON_GC_GEN0_THRESHOLD": str(DEFAULT_GEN0_THRESHOLD)},
    "settled": {"PATRON_GC_FREEZE": "true", "PATRON_GC_GEN0_THRESHOLD": str(GC_GEN0_THRESHOLD)},
}  # fmt: skip
"""The two ways compared: Python's collector settings, and patron's."""


def one_run(
    variant: str, url: str, customers: int, *, port: int, workers: int, connections: int,
    seconds: float, warmup: float, seed: int,
) -> dict[str, Any]:  # fmt: skip
    """Start patron with `variant`'s settings, warm it up, measure one wrk run, stop it."""
    server = patron_server(f"patron-gc-{variant}", url, port, workers)
    server.env.update(SETTINGS[variant])
    with running([server], {server.name: workers}):

        def wrk(seconds: float, seed: int) -> WrkResult:
            return run_wrk(
                server.base_url, mode="update", customers=customers, connections=connections,
                threads=2, seconds=seconds, pool=None, seed=seed,
            )  # fmt: skip

        wrk(warmup, seed)
        before = stalls.scrape(server.base_url)
        result = wrk(seconds, seed + 1)
        after = stalls.scrape(server.base_url)
        # Does a higher threshold let uncollected cycles pile up? The workers' size after the run.
        sizes = [rss_mb(pid) for pid in server.workers()]
    entry = {
        "variant": variant,
        "rps": result.rps,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "p99_over_p50": round(result.p99_ms / result.p50_ms, 2) if result.p50_ms else None,
        **stalls.delta(before, after),
        "worker_rss_mb": round(max((m for m in sizes if m is not None), default=0.0), 1),
    }
    log(
        f"  {variant}: {entry['rps']:,.0f} req/s, p50 {entry['p50_ms']:.1f} ms, p99"
        f" {entry['p99_ms']:.1f} ms; GC {entry['gc_seconds']:.2f} s in"
        f" {entry['gc_collections']:,} collections (gen 2: {entry.get('gc2_seconds', 0):.2f} s);"
        f" loop lag {entry['lag_seconds']:.2f} s, {entry['lag_ticks_over_50ms']} ticks > 50 ms;"
        f" largest worker {entry['worker_rss_mb']:.0f} MB"
    )
    return entry


def compare(
    url: str, customers: int, *, port: int, workers: int, connections: int, seconds: float,
    warmup: float, rounds: int,
) -> dict[str, Any]:  # fmt: skip
    """Every run of both variants, and per variant the medians of its runs."""
    runs: list[dict[str, Any]] = []
    for r in range(rounds):
        order = list(SETTINGS) if r % 2 == 0 else list(reversed(SETTINGS))
        for variant in order:
            runs.append(
                one_run(
                    variant,
                    url,
                    customers,
                    port=port,
                    workers=workers,
                    connections=connections,
                    seconds=seconds,
                    warmup=warmup,
                    seed=len(runs) * 7919 + 1,
                )
            )
    medians = {}
    for variant in SETTINGS:
        mine = [run for run in runs if run["variant"] == variant]
        keys = [k for k, v in mine[0].items() if isinstance(v, int | float)]
        medians[variant] = {k: round(statistics.median(run.get(k) or 0 for run in mine), 4) for k in keys}  # fmt: skip
    return {
        "workers": workers,
        "connections": connections,
        "seconds": seconds,
        "rounds": rounds,
        "settings": SETTINGS,
        "runs": runs,
        "medians": medians,
    }


def main() -> None:
    """Command line: compare on a fresh SQLite file, or on a loaded database."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="a database bench.load_pg or bench.load_sqlite loaded"
    )
    parser.add_argument("--customers", type=int, help="customers in --database-url")
    parser.add_argument("--sqlite-customers", type=int, default=20_000, help="without --database-url")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=8131)
    args = parser.parse_args()
    url, customers = args.database_url, args.customers
    try:
        if url is None:
            path = Path(TMP / "patron_gc_effect.db")
            load_sqlite(path, args.sqlite_customers)
            url, customers = f"sqlite:///{path}", args.sqlite_customers
        elif customers is None:
            raise BenchError("--database-url needs --customers")
        found = compare(
            url, customers, port=args.port, workers=args.workers, connections=args.connections,
            seconds=args.seconds, warmup=args.warmup, rounds=args.rounds,
        )  # fmt: skip
    except BenchError as exc:
        log(f"FAILED: {exc}")
        raise SystemExit(1) from None
    for variant, m in found["medians"].items():
        print(variant, m)


if __name__ == "__main__":
    main()
