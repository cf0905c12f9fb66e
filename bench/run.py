"""`make bench`: patron against its anchors, in one run, on this machine.

1. Load PostgreSQL with N customers (database patron_bench), a small PostgreSQL database
   (patron_bench_small, 10,000) and an SQLite file (200,000), and verify each through the API.
2. Record the statements patron issues for one update and turn them into pgbench scripts.
3. For each round: start patron (2 workers) on each database, the reference app (2 workers),
   patron on SQLite (1 worker) and patron through a PgBouncer in transaction pooling mode in front
   of the same PostgreSQL (2 workers, PATRON_DATABASE_POOLER=transaction); warm each up; run wrk against each in turn (the update by
   lookup at 64 and at 4 connections, the details read, the reference update, the echo); stop
   them; run pgbench on patron's statements, then on the reference app's.
4. Measure the Python CPU of one update of patron and of the reference app in process
   (`bench.cpu`), then the bulk import (`bench.importing`) and the points balance of a customer
   with 5,000 ledger rows (`bench.ledger`).
5. Write the medians, ratios and targets to bench/results/<UTC date>.json and docs/performance.md.

Sizes and durations come from the environment (see `--help` and docs/performance.md); a run
smaller than the full size is written to bench/results/tmp/ and leaves the docs alone unless
BENCH_PUBLISH=1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg

from bench import (
    cpu,
    gc_effect,
    importing,
    ledger,
    pgbench,
    pgbouncer,
    quiet,
    report,
    stalls,
    verify,
    wal,
)
from bench.common import ROOT, TMP, BenchError, env_float, env_int, log
from bench.load_pg import DEFAULT_ADMIN_URL, database_url
from bench.load_pg import load as load_pg
from bench.load_sqlite import load as load_sqlite
from bench.servers import RssSampler, Server, patron_server, reference_server, running
from bench.wrk import EnrolPool, WrkResult, ensure_wrk, run_wrk

FULL_SIZE = 1_000_000
EXPECTED_EXCEPTIONS = frozenset({"starlette.requests.ClientDisconnect"})
"""Logged when wrk closes its connections at the end of a run with requests still queued."""


@dataclass
class Config:
    """Everything a run is parameterised by (environment variables in brackets)."""

    customers: int = FULL_SIZE  # BENCH_CUSTOMERS
    small_customers: int = 10_000  # BENCH_SMALL_CUSTOMERS
    sqlite_customers: int = 200_000  # BENCH_SQLITE_CUSTOMERS
    import_customers: int = importing.DEFAULT_CUSTOMERS  # BENCH_IMPORT_CUSTOMERS
    seconds: float = 20.0  # BENCH_SECONDS, per measured run
    warmup: float = 5.0  # BENCH_WARMUP, per server and round
    rounds: int = 3  # BENCH_ROUNDS
    connections: int = 64  # BENCH_CONNECTIONS
    low_connections: int = 4  # BENCH_LOW_CONNECTIONS
    threads: int = 2  # wrk threads and pgbench -j
    workers: int = 2  # patron and reference worker processes
    enrol_percent: float = 5.0  # BENCH_ENROL_PERCENT
    admin_url: str = DEFAULT_ADMIN_URL  # BENCH_PG_ADMIN_URL
    database: str = "patron_bench"  # BENCH_DATABASE
    small_database: str = "patron_bench_small"
    sqlite_path: str = str(TMP / "patron_bench.db")
    port: int = 8101  # BENCH_PORT: patron; +1 reference, +2 small, +3 SQLite, +4 via PgBouncer, +5 GC comparison, +6 to +8 on uvloop
    pgbouncer_port: int = 6442  # BENCH_PGBOUNCER_PORT
    publish: bool = True  # BENCH_PUBLISH (default: only a full-size run is published)

    @classmethod
    def from_env(cls, customers: int | None) -> Config:
        """Defaults, then BENCH_* variables, then the command line."""
        c = cls()
        c.customers = (
            customers if customers is not None else env_int("BENCH_CUSTOMERS", c.customers)
        )
        c.small_customers = env_int("BENCH_SMALL_CUSTOMERS", min(c.small_customers, c.customers))
        c.sqlite_customers = env_int("BENCH_SQLITE_CUSTOMERS", min(c.sqlite_customers, c.customers))
        c.import_customers = env_int("BENCH_IMPORT_CUSTOMERS", min(c.import_customers, c.customers))
        c.seconds = env_float("BENCH_SECONDS", c.seconds)
        c.warmup = env_float("BENCH_WARMUP", min(c.warmup, c.seconds))
        c.rounds = env_int("BENCH_ROUNDS", c.rounds)
        c.connections = env_int("BENCH_CONNECTIONS", c.connections)
        c.low_connections = env_int("BENCH_LOW_CONNECTIONS", c.low_connections)
        c.enrol_percent = env_float("BENCH_ENROL_PERCENT", c.enrol_percent)
        c.admin_url = os.environ.get("BENCH_PG_ADMIN_URL", c.admin_url)
        c.database = os.environ.get("BENCH_DATABASE", c.database)
        c.small_database = f"{c.database}_small"
        c.port = env_int("BENCH_PORT", c.port)
        c.pgbouncer_port = env_int("BENCH_PGBOUNCER_PORT", c.pgbouncer_port)
        publish = os.environ.get("BENCH_PUBLISH", "").strip().lower()
        c.publish = publish in ("1", "true", "yes") or (not publish and c.customers >= FULL_SIZE)
        if min(c.customers, c.small_customers, c.sqlite_customers) < 100:
            raise BenchError("every database needs at least 100 customers")
        if c.rounds < 1 or c.seconds < 1:
            raise BenchError("BENCH_ROUNDS and BENCH_SECONDS must be at least 1")
        return c


def _preflight(cfg: Config) -> None:
    ensure_wrk()
    if pgbouncer.binary() is None:
        raise BenchError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    if subprocess.run(["pgbench", "--version"], capture_output=True, check=False).returncode:
        raise BenchError("pgbench is not installed (Debian: postgresql-client)")

    async def connect() -> None:
        try:
            conn = await asyncpg.connect(cfg.admin_url, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise BenchError(f"PostgreSQL is not reachable at {cfg.admin_url}: {exc}") from None
        await conn.close()

    asyncio.run(connect())


def _host(cfg: Config) -> dict[str, Any]:
    def read(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    model = next(
        (ln.split(":", 1)[1].strip() for ln in read("/proc/cpuinfo").splitlines() if ln.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    mem_kb = next(
        (int(ln.split()[1]) for ln in read("/proc/meminfo").splitlines() if ln.startswith("MemTotal")), 0
    )  # fmt: skip

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False)
        return done.stdout.strip()

    async def pg() -> dict[str, str]:
        conn = await asyncpg.connect(cfg.admin_url)
        try:
            names = ("server_version", "shared_buffers", "max_connections", "synchronous_commit", "fsync")  # fmt: skip
            return {n: str(await conn.fetchval(f"SHOW {n}")) for n in names}
        finally:
            await conn.close()

    settings = asyncio.run(pg())
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": sys.version.split()[0],
        "postgres_version": settings["server_version"].split()[0],
        "postgres_settings": settings,
        "loadavg_start": read("/proc/loadavg").split(" ")[0],
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "src")),
    }


class Runner:
    """Runs the rounds and keeps every figure."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.runs: list[dict[str, Any]] = []
        self.memory: list[dict[str, Any]] = []
        self.exceptions: list[dict[str, Any]] = []
        self.main_url = database_url(cfg.admin_url, cfg.database)
        self.bounced_url = pgbouncer.through(self.main_url, cfg.pgbouncer_port)
        self.small_url = database_url(cfg.admin_url, cfg.small_database)
        self.sqlite_url = f"sqlite:///{cfg.sqlite_path}"
        self.pools = {
            "main": EnrolPool(cfg.customers),
            "small": EnrolPool(cfg.small_customers),
            "sqlite": EnrolPool(cfg.sqlite_customers),
            "reference": EnrolPool(cfg.customers),
        }

    def _wrk(
        self,
        server: Server,
        *,
        mode: str,
        customers: int,
        pool: str,
        connections: int,
        seconds: float,
        prefix: str = "",
        check: bool = False,
    ) -> WrkResult:
        if pool == "reference":
            # The reference app ignores enrolments: its bodies only need the same shape.
            self.pools[pool].next_index = 0
        try:
            return run_wrk(
                server.base_url,
                mode=mode,
                customers=customers,
                connections=connections,
                threads=self.cfg.threads,
                seconds=seconds,
                pool=self.pools[pool],
                enrol_percent=self.cfg.enrol_percent,
                prefix=prefix,
                check=check,
                # Each server its own sequence too: two servers on one database given the same
                # seed would send the same updates, and the second would find nothing to change.
                seed=len(self.runs) * 1009 + int(seconds * 10) + connections + 7 * server.port,
            )
        except BenchError as exc:
            raise BenchError(f"{exc}\n(server log: {server.log_path})") from None

    def _record(
        self,
        name: str,
        round_no: int,
        result: WrkResult | pgbench.PgbenchResult,
        **extra: Any,
    ) -> None:
        entry = {"name": name, "round": round_no, **result.as_dict(), **extra}
        self.runs.append(entry)
        log(
            f"  round {round_no} {name}: {entry.get('rps', entry.get('tps')):,.1f} req/s,"
            f" p50 {entry['p50_ms']:.2f} ms, p99 {entry['p99_ms']:.2f} ms"
        )

    def _check_log(self, server: Server, round_no: int) -> None:
        """Fail on any exception a server logged, except clients hanging up when wrk stops."""
        found = server.exceptions()
        if found:
            self.exceptions.append({"round": round_no, "server": server.name, **found})
        unexpected = {k: v for k, v in found.items() if k not in EXPECTED_EXCEPTIONS}
        if unexpected:
            raise BenchError(
                f"{server.name} logged exceptions in round {round_no}: {unexpected};"
                f" see {server.log_path}"
            )

    def _wal(self, server: Server, before: Any = None, result: WrkResult | None = None) -> Any:
        """The WAL counters now (`before` None), or what a run wrote per request since then.

        Runs on SQLite get None. The counters are the whole server's: the runs on the small
        database and through PgBouncer are read the same way.
        """
        if "sqlite" in server.name:
            return None
        now = wal.snapshot(self.main_url)
        return now if before is None or result is None else wal.delta(before, now, result.requests)

    def peak(self, server: str, key: str) -> float | None:
        """The highest per-worker peak of `server` over the rounds."""
        values = [m[key] for m in self.memory if m["server"] == server and m[key] is not None]
        return max(values, default=None)

    def _runs(
        self,
        round_no: int,
        plan: list[tuple[str, Server, str, int, str, str]],
        low: tuple[tuple[str, Server, str], ...] = (),
    ) -> None:
        """Start the plan's servers, warm each up, run the plan (then `low`, at the low number
        of connections), and stop them; memory and logs are checked per server."""
        cfg = self.cfg
        servers: list[Server] = []
        for _, server, *_ in plan:
            if server not in servers:
                servers.append(server)
        workers = {s.name: 1 if "sqlite" in s.name else cfg.workers for s in servers}
        with running(servers, workers), RssSampler(servers) as sampler:
            log(f"  warming up ({cfg.warmup:g} s each)")
            for _, server, mode, customers, pool, prefix in plan:
                self._wrk(
                    server, mode=mode, customers=customers, pool=pool, prefix=prefix,
                    connections=cfg.connections, seconds=cfg.warmup, check=True,
                )  # fmt: skip
            if round_no % 2 == 0:  # alternate the order from round to round
                plan = plan[::-1]
            run_peaks: dict[str, list[float]] = {s.name: [] for s in servers}
            for name, server, mode, customers, pool, prefix in plan:
                since = time.monotonic()
                before, logged = _stalls(server), self._wal(server)
                result = self._wrk(
                    server, mode=mode, customers=customers, pool=pool, prefix=prefix,
                    connections=cfg.connections, seconds=cfg.seconds,
                )  # fmt: skip
                rss = sampler.peaks(server.name, since, time.monotonic())
                run_peaks[server.name] += rss
                self._record(
                    name, round_no, result, worker_rss_peak_mb=rss,
                    stalls=_stalls(server, before), wal=self._wal(server, logged, result),
                )  # fmt: skip
            for name, server, pool in low:
                before, logged = _stalls(server), self._wal(server)
                result = self._wrk(
                    server, mode="update", customers=cfg.customers, pool=pool,
                    connections=cfg.low_connections, seconds=cfg.seconds,
                )  # fmt: skip
                self._record(
                    name, round_no, result,
                    stalls=_stalls(server, before), wal=self._wal(server, logged, result),
                )  # fmt: skip
        for server in servers:
            self.memory.append(
                {
                    "round": round_no,
                    "server": server.name,
                    "measured_runs_peak_mb": max(run_peaks[server.name], default=None),
                    "whole_round_peak_mb": max(sampler.peaks(server.name), default=None),
                    "worker_peaks_mb": sampler.peaks(server.name),
                }
            )
            self._check_log(server, round_no)

    def round(self, round_no: int, script: pgbench.Script, reference_sql: pgbench.Script) -> None:
        """One round: every HTTP run, the same updates on uvloop, then pgbench."""
        cfg = self.cfg
        patron = patron_server("patron", self.main_url, cfg.port, cfg.workers)
        reference = reference_server("reference", self.main_url, cfg.port + 1, cfg.workers)
        small = patron_server("patron-small", self.small_url, cfg.port + 2, cfg.workers)
        sqlite = patron_server("patron-sqlite", self.sqlite_url, cfg.port + 3, 1)
        bounced = patron_server(
            "patron-pgbouncer", self.bounced_url, cfg.port + 4, cfg.workers,
            env={"PATRON_DATABASE_POOLER": "transaction"},
        )  # fmt: skip
        log(f"round {round_no}/{cfg.rounds}: starting the servers")
        # (name, server, mode, customers, pool, prefix): the runs of a round, in order.
        self._runs(
            round_no,
            [
                ("patron_update", patron, "update", cfg.customers, "main", ""),
                ("reference_update", reference, "update", cfg.customers, "reference", ""),
                ("echo", reference, "update", cfg.customers, "reference", "/echo"),
                ("patron_details", patron, "details", cfg.customers, "main", ""),
                ("patron_update_small", small, "update", cfg.small_customers, "small", ""),
                ("patron_update_sqlite", sqlite, "update", cfg.sqlite_customers, "sqlite", ""),
                ("patron_update_pgbouncer", bounced, "update", cfg.customers, "main", ""),
            ],
            low=(("patron_update_c4", patron, "main"), ("reference_update_c4", reference, "reference")),
        )  # fmt: skip
        # Started once the others have stopped: PostgreSQL's 100 connections hold.
        log(f"round {round_no}/{cfg.rounds}: the same updates on uvloop")
        uv = {"PATRON_EVENT_LOOP": "uvloop"}
        self._runs(
            round_no,
            [
                ("patron_update_uvloop", patron_server("patron-uvloop", self.main_url, cfg.port + 6, cfg.workers, env=uv), "update", cfg.customers, "main", ""),
                ("reference_update_uvloop", reference_server("reference-uvloop", self.main_url, cfg.port + 7, cfg.workers, env=uv), "update", cfg.customers, "reference", ""),
                ("patron_update_sqlite_uvloop", patron_server("patron-sqlite-uvloop", self.sqlite_url, cfg.port + 8, 1, env=uv), "update", cfg.sqlite_customers, "sqlite", ""),
            ],
        )  # fmt: skip
        log("  servers stopped; pgbench")
        pgbench.run_pgbench(
            self.main_url, script, clients=cfg.connections, threads=cfg.threads,
            seconds=cfg.warmup, tag=f"warmup-{round_no}",
        )  # fmt: skip
        logged = wal.snapshot(self.main_url)
        pg = pgbench.run_pgbench(
            self.main_url, script, clients=cfg.connections, threads=cfg.threads,
            seconds=cfg.seconds, tag=f"round-{round_no}",
        )  # fmt: skip
        self._record(
            "pgbench_update", round_no, pg, rps=pg.tps, connections=pg.clients,
            wal=wal.delta(logged, wal.snapshot(self.main_url), pg.transactions),
        )  # fmt: skip
        logged = wal.snapshot(self.main_url)
        pg = pgbench.run_pgbench(
            self.main_url, reference_sql, clients=cfg.connections, threads=cfg.threads,
            seconds=cfg.seconds, tag=f"reference-{round_no}",
        )  # fmt: skip
        self._record(
            "pgbench_reference", round_no, pg, rps=pg.tps, connections=pg.clients,
            wal=wal.delta(logged, wal.snapshot(self.main_url), pg.transactions),
        )  # fmt: skip


def _stalls(server: Server, before: dict[str, float] | None = None) -> Any:
    """patron's stall totals now (`before` None), or what they grew by since `before`.

    Only patron reports them; the reference app's runs get None.
    """
    if not server.name.startswith("patron"):
        return None
    now = stalls.scrape(server.base_url)
    return now if before is None else stalls.delta(before, now)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def bench(cfg: Config) -> dict[str, Any]:
    """The whole benchmark; returns the results data (also written to disk)."""
    started = datetime.now(UTC)
    _preflight(cfg)
    host = _host(cfg)
    loads = {
        "postgresql": load_pg(cfg.admin_url, cfg.database, cfg.customers).as_dict(),
        "postgresql_small": load_pg(cfg.admin_url, cfg.small_database, cfg.small_customers).as_dict(),
        "sqlite": load_sqlite(Path(cfg.sqlite_path), cfg.sqlite_customers).as_dict(),
    }  # fmt: skip
    runner = Runner(cfg)
    verification = {}
    for key, url, customers in (
        ("postgresql", runner.main_url, cfg.customers),
        ("postgresql_small", runner.small_url, cfg.small_customers),
        ("sqlite", runner.sqlite_url, cfg.sqlite_customers),
    ):
        log(f"verifying {key} through the API")
        verification[key] = asyncio.run(verify.verify(url, customers, loads[key]["loaded_at"]))
    log("recording the statements of one update for pgbench")
    capture = asyncio.run(pgbench.capture(runner.main_url, cfg.customers))
    script = pgbench.script(capture, cfg.customers)
    log(f"  {capture.round_trips(capture.update)} round trips per update: {script.files[0]}")
    reference_sql = pgbench.reference_script(cfg.customers)
    with pgbouncer.running(TMP / "pgbouncer", cfg.pgbouncer_port):
        for round_no in range(1, cfg.rounds + 1):
            runner.round(round_no, script, reference_sql)
    log("garbage collection: Python's settings against patron's (bench.gc_effect)")
    gc_compared = gc_effect.compare(
        runner.main_url, cfg.customers, port=cfg.port + 5, workers=cfg.workers,
        connections=cfg.connections, seconds=cfg.seconds, warmup=cfg.warmup, rounds=cfg.rounds,
    )  # fmt: skip
    log("Python CPU per update, in process (bench.cpu), once PostgreSQL has settled")
    cpu_settle = quiet.settle(runner.main_url)
    cpu_ms = {
        **cpu.measure(runner.main_url, cfg.customers, requests=2000, rounds=5),
        "postgresql_settled": cpu_settle,
    }
    # After the rounds, so the import's CPU does not disturb them; a database of its own.
    imported = importing.bench_import(cfg.admin_url, cfg.import_customers).as_dict()
    log("points balance of a customer with 5,000 ledger rows (bench.ledger)")
    ledger_read = ledger.bench_ledger(cfg.admin_url).as_dict()
    med = report.medians(runner.runs)
    rat = report.ratios(med)
    rss_max = runner.peak("patron", "whole_round_peak_mb")
    path = report.results_path(started, cfg.publish)
    data: dict[str, Any] = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "results_file": str(path.relative_to(ROOT)),
        "published": cfg.publish,
        "config": asdict(cfg),
        "host": {**host, "loadavg_end": Path("/proc/loadavg").read_text().split(" ")[0]},
        "load": loads,
        "import": imported,
        "ledger": ledger_read,
        "verification": verification,
        "statements": capture.summary(),
        "cpu_per_update_ms": cpu_ms,
        "gc_effect": gc_compared,
        "pgbench_script": script.text,
        "pgbench_defines": script.defines,
        "pgbench_reference_script": reference_sql.text,
        "pgbench_reference_defines": reference_sql.defines,
        "runs": runner.runs,
        "medians": med,
        "ratios": rat,
        "memory": {
            "patron_worker_max_mb": rss_max,
            "patron_worker_max_during_measured_runs_mb": runner.peak(
                "patron", "measured_runs_peak_mb"
            ),
            "reference_worker_max_mb": runner.peak("reference", "whole_round_peak_mb"),
            "sqlite_worker_max_mb": runner.peak("patron-sqlite", "whole_round_peak_mb"),
            "per_round": runner.memory,
        },
        "server_exceptions": runner.exceptions,
        "enrolment_pools": {k: asdict(v) for k, v in runner.pools.items()},
    }
    data["targets"] = [
        *report.targets(med, rat, rss_max, cpu_ms),
        report.import_target(imported),
        report.import_ratio_target(imported, loads["postgresql"]),
    ]
    report.write_json(path, data)
    section = report.markdown(data)
    if cfg.publish:
        report.rewrite_docs(section)
        log(f"results: {path.relative_to(ROOT)}; table written to docs/performance.md")
    else:
        path.with_suffix(".md").write_text(section, encoding="utf-8")
        log(
            f"results: {path.relative_to(ROOT)} (not published: smaller than the full size;"
            " BENCH_PUBLISH=1 publishes)"
        )
    print(section)
    return data


def main() -> None:
    """Command line of `make bench`."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Environment: BENCH_CUSTOMERS, BENCH_SMALL_CUSTOMERS, BENCH_SQLITE_CUSTOMERS,"
        " BENCH_SECONDS, BENCH_WARMUP, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_LOW_CONNECTIONS,"
        " BENCH_ENROL_PERCENT, BENCH_IMPORT_CUSTOMERS, BENCH_PG_ADMIN_URL, BENCH_DATABASE, BENCH_PORT, BENCH_PGBOUNCER_PORT, BENCH_PUBLISH.",
    )
    parser.add_argument("--customers", type=int, default=None, help="PostgreSQL customers")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        bench(Config.from_env(args.customers))
    except BenchError as exc:
        log(f"FAILED: {exc}")
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        log("interrupted; servers stopped")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
