"""Medians, ratios and targets of a benchmark run; the results file and the docs table."""

from __future__ import annotations

import json
import re
import statistics
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import BENCH, ROOT, TMP, BenchError

DOCS = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench:results:begin (written by `make bench`; edit the prose outside) -->"
END = "<!-- bench:results:end -->"

RUNS: dict[str, str] = {
    "patron_update": "patron, PUT /v2/customers/lookup",
    "patron_update_pgbouncer": "patron through PgBouncer (transaction pooling), PUT by lookup",
    "reference_update": "reference app, bare update transaction",
    "echo": "echo endpoint (FastAPI parses the body)",
    "pgbench_update": "pgbench, patron's own update statements",
    "pgbench_reference": "pgbench, the reference app's update statements",
    "patron_details": "patron, GET .../customerDetails",
    "patron_update_small": "patron, PUT by lookup, 10k-customer database",
    "patron_update_sqlite": "patron on SQLite, PUT by lookup (1 worker)",
    "patron_update_c4": "patron, PUT by lookup",
    "reference_update_c4": "reference app, bare update transaction",
    "patron_update_uvloop": "patron on uvloop, PUT by lookup",
    "reference_update_uvloop": "reference app on uvloop, bare update transaction",
    "patron_update_sqlite_uvloop": "patron on SQLite on uvloop, PUT by lookup (1 worker)",
}
"""Every measured run, in the order of the table."""

METRICS = ("rps", "p50_ms", "p99_ms")


def medians(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per run name, the median of each metric over its rounds."""
    out: dict[str, dict[str, float]] = {}
    for name in RUNS:
        mine = [r for r in runs if r["name"] == name]
        if mine:
            out[name] = {m: round(statistics.median(r[m] for r in mine), 2) for m in METRICS}
            out[name]["connections"] = mine[0]["connections"]
            out[name]["rounds"] = len(mine)
            spread = [r["p99_ms"] / r["p50_ms"] for r in mine if r.get("p50_ms")]
            if spread:
                out[name]["p99_over_p50"] = round(statistics.median(spread), 2)
            measured = [r["stalls"] for r in mine if r.get("stalls")]
            for key in STALLS if measured else ():
                out[name][key] = round(statistics.median(m.get(key, 0) for m in measured), 3)
            logged = [r["wal"] for r in mine if r.get("wal")]
            for key in WAL if logged else ():
                out[name][key] = round(statistics.median(w[key] for w in logged), 3)
            if logged:
                out[name]["checkpoints_in_runs"] = sum(w["checkpoints"] for w in logged)
    return out


STALLS = ("lag_seconds", "lag_ticks_over_50ms", "gc_seconds", "gc_collections", "gc2_seconds")
"""What patron's /metrics says its workers spent stalled during a run (bench/stalls.py)."""

WAL = ("wal_kib_per_request", "wal_records_per_request", "fpi_per_request")
"""What a run on PostgreSQL wrote to the write-ahead log, per request (bench/wal.py)."""


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def ratios(med: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """The ratios the issue asks for, from the medians."""

    def get(name: str, metric: str) -> float | None:
        return med.get(name, {}).get(metric)

    return {
        "patron_over_reference_rps": _ratio(get("patron_update", "rps"), get("reference_update", "rps")),
        "patron_over_reference_p99": _ratio(get("patron_update", "p99_ms"), get("reference_update", "p99_ms")),
        "patron_over_echo_rps": _ratio(get("patron_update", "rps"), get("echo", "rps")),
        "patron_over_pgbench_rps": _ratio(get("patron_update", "rps"), get("pgbench_update", "rps")),
        "pgbench_patron_over_reference_rps": _ratio(get("pgbench_update", "rps"), get("pgbench_reference", "rps")),
        "p50_large_over_small": _ratio(get("patron_update", "p50_ms"), get("patron_update_small", "p50_ms")),
        # Against the bare transaction on uvloop, whatever loop patron's own run used.
        "patron_over_reference_uvloop_rps": _ratio(get("patron_update", "rps"), get("reference_update_uvloop", "rps")),
        "patron_over_reference_uvloop_p99": _ratio(get("patron_update", "p99_ms"), get("reference_update_uvloop", "p99_ms")),
    }  # fmt: skip


def targets(
    med: dict[str, dict[str, float]],
    rat: dict[str, float | None],
    rss_max_mb: float | None,
    cpu: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Each target of the issue, its measured value and whether it is met."""

    def check(name: str, value: float | None, ok: bool | None, unit: str = "") -> dict[str, Any]:
        return {"target": name, "value": value, "unit": unit, "met": ok}

    def at_least(v: float | None, bound: float) -> bool | None:
        return None if v is None else v >= bound

    def at_most(v: float | None, bound: float) -> bool | None:
        return None if v is None else v <= bound

    c4 = med.get("patron_update_c4", {}).get("p99_ms")
    sqlite = med.get("patron_update_sqlite", {}).get("rps")
    spread = med.get("patron_update", {}).get("p99_over_p50")
    sqlite_spread = med.get("patron_update_sqlite", {}).get("p99_over_p50")
    r_rps, r_p99 = rat["patron_over_reference_rps"], rat["patron_over_reference_p99"]
    r_pg, r_size = rat["patron_over_pgbench_rps"], rat["p50_large_over_small"]
    r_cpu = cpu.get("patron_over_reference") if cpu else None
    return [
        check("update requests/s >= 0.7x reference", r_rps, at_least(r_rps, 0.7), "x"),
        check("update p99 <= 2x reference (64 connections)", r_p99, at_most(r_p99, 2.0), "x"),
        check("Python CPU per update <= 1.5x reference", r_cpu, at_most(r_cpu, 1.5), "x"),
        check("update requests/s >= 1.0x reference (long-term)", r_rps, at_least(r_rps, 1.0), "x"),
        check(
            "update p99 <= 1.2x reference, 64 connections (long-term)",
            r_p99,
            at_most(r_p99, 1.2),
            "x",
        ),
        check("update p99 <= 10 ms at 4 connections", c4, at_most(c4, 10.0), "ms"),
        check("update requests/s >= 20% of pgbench", r_pg, at_least(r_pg, 0.2), "x"),
        check("update p50 at full size <= 1.2x at 10k", r_size, at_most(r_size, 1.2), "x"),
        check("SQLite updates/s >= 1,000", sqlite, at_least(sqlite, 1000), "req/s"),
        check("resident memory per worker <= 150 MB", rss_max_mb, at_most(rss_max_mb, 150), "MB"),
        check("update p99/p50 <= 3 (64 connections)", spread, at_most(spread, 3.0), "x"),
        check(
            "SQLite update p99/p50 <= 4 (64 connections)",
            sqlite_spread,
            at_most(sqlite_spread, 4.0),
            "x",
        ),
    ]


def import_target(imported: dict[str, Any]) -> dict[str, Any]:
    """The bulk import target (bench/importing.py): customers per second into PostgreSQL."""
    rate, bound = imported["customers_per_second"], imported["target_per_second"]
    return {
        "target": f"patron import >= {bound:,} customers/s into PostgreSQL",
        "value": rate,
        "unit": "customers/s",
        "met": rate >= bound,
    }


IMPORT_OVER_LOADER = 0.3
"""`patron import`'s customers/s over the bench loader's (bench/load_pg.py, its COPY phase)."""


def loader_rate(load: dict[str, Any]) -> float | None:
    """The bench loader's customers per second over its COPY phase (keys and indexes dropped)."""
    seconds = load.get("seconds", {}).get("copy")
    return round(load["customers"] / seconds, 1) if seconds else None


def import_ratio_target(imported: dict[str, Any], load: dict[str, Any]) -> dict[str, Any]:
    """The import against the loader of the same run: at least IMPORT_OVER_LOADER of its rate."""
    ratio = _ratio(imported["customers_per_second"], loader_rate(load))
    return {
        "target": f"patron import >= {IMPORT_OVER_LOADER}x the bench loader's customers/s",
        "value": ratio,
        "unit": "x",
        "met": None if ratio is None else ratio >= IMPORT_OVER_LOADER,
    }


def _import_line(imported: dict[str, Any] | None, load: dict[str, Any] | None = None) -> str:
    if not imported:
        return "No import was measured."
    loader = loader_rate(load) if load else None
    against = (
        f"; the bench loader's COPY stored {loader:,.0f} customers/s in the same run, so the"
        f" import ran at {imported['customers_per_second'] / loader:.2f}x the loader"
        if loader
        else ""
    )
    cpu = imported.get("cpu_seconds") or {}
    spent = (
        f" CPU meanwhile: the importing process {cpu['command']:,.1f} s, its preparing"
        f" processes {cpu['children']:,.1f} s, PostgreSQL {cpu['postgresql']:,.1f} s."
        if cpu
        else ""
    )
    return (
        f"Bulk import: `patron import` of {imported['customers']:,} registrations"
        f" ({imported['file_mb']:,.1f} MB of JSON Lines) into a fresh PostgreSQL org took"
        f" {imported['seconds']:,.1f} s: {imported['customers_per_second']:,.0f} customers/s"
        f" (command wall time, start-up included){against}.{spent}"
    )


def _ledger_line(ledger: dict[str, Any] | None) -> str:
    if not ledger:
        return "No points balance was measured."
    return (
        f"Points balance (bench/ledger.py): `GET loyaltyDetails` of a customer with"
        f" {ledger['ledger_rows']:,} ledger rows ({ledger['ledger_rows_in_table']:,} in the table),"
        f" in process: p50 {ledger['p50_ms']:.2f} ms, p99 {ledger['p99_ms']:.2f} ms; its balance"
        f" query runs in {ledger['query_execution_ms']:.2f} ms"
        f" ({'an index-only scan of ix_points_ledger_balance' if ledger['uses_index'] else 'NOT using its index'})."
    )


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _exceptions_line(found: list[dict[str, Any]]) -> str:
    totals: dict[str, int] = {}
    for entry in found:
        for key, count in entry.items():
            if key not in ("round", "server"):
                totals[key] = totals.get(key, 0) + count
    if not totals:
        return "The servers logged no exception."
    listed = ", ".join(f"{count:,} x `{name}`" for name, count in sorted(totals.items()))
    return (
        f"Tracebacks in the server logs: {listed} (wrk closing its connections at the end of"
        " each run with requests still queued; any other exception fails the run)."
    )


def _timeouts_line(runs: list[dict[str, Any]]) -> str:
    late = [r for r in runs if r.get("errors", {}).get("timeout")]
    if not late:
        return "No request timed out (wrk's limit: 10 s)."
    listed = ", ".join(f"{r['name']} round {r['round']}: {r['errors']['timeout']}" for r in late)
    return (
        f"**Requests timed out** (10 s, left out of wrk's latency figures, so those p99 are"
        f" too kind): {listed}."
    )


def markdown(data: dict[str, Any]) -> str:
    """The results section of docs/performance.md for one run."""
    cfg, med, rat = data["config"], data["medians"], data["ratios"]
    host = data["host"]
    lines = [
        f"### Results of {data['started_at'][:16].replace('T', ' ')} UTC",
        "",
        f"{cfg['customers']:,} customers on PostgreSQL ({cfg['small_customers']:,} in the small"
        f" database, {cfg['sqlite_customers']:,} on SQLite); {cfg['rounds']} rounds of"
        f" {cfg['seconds']:g} s per run after {cfg['warmup']:g} s of warm-up; medians over the"
        f" rounds. Machine: {host['cpus']} CPUs ({host['cpu_model']}), {host['memory_gb']} GB,"
        f" PostgreSQL {host['postgres_version']}, load average {host['loadavg_start']} at the"
        f" start. patron at commit `{host['commit']}`{' (with local changes)' if host['dirty'] else ''}.",
        "",
        "| run | connections | requests/s | p50 ms | p99 ms | p99/p50 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, label in RUNS.items():
        m = med.get(name)
        if m:
            lines.append(
                f"| {label} | {int(m['connections'])} | {_fmt(m['rps'])} | {_fmt(m['p50_ms'], 2)}"
                f" | {_fmt(m['p99_ms'], 2)} | {_fmt(m.get('p99_over_p50'), 2)} |"
            )
    lines += _stalls_table(med, cfg["seconds"])
    lines += _wal_table(med)
    lines += _loop_table(med)
    lines += _gc_effect_table(data.get("gc_effect"))
    lines += [
        "",
        "| ratio | value |",
        "| --- | ---: |",
        f"| patron / reference, requests/s | {_fmt(rat['patron_over_reference_rps'], 3)} |",
        f"| patron / reference, p99 | {_fmt(rat['patron_over_reference_p99'], 3)} |",
        f"| patron / echo, requests/s | {_fmt(rat['patron_over_echo_rps'], 3)} |",
        f"| patron / pgbench, requests/s | {_fmt(rat['patron_over_pgbench_rps'], 3)} |",
        "| pgbench: patron's statements / the reference's, transactions/s |"
        f" {_fmt(rat.get('pgbench_patron_over_reference_rps'), 3)} |",
        f"| p50 at {cfg['customers']:,} / p50 at {cfg['small_customers']:,} customers |"
        f" {_fmt(rat['p50_large_over_small'], 3)} |",
        "| patron / reference app on uvloop, requests/s |"
        f" {_fmt(rat.get('patron_over_reference_uvloop_rps'), 3)} |",
        "| patron / reference app on uvloop, p99 |"
        f" {_fmt(rat.get('patron_over_reference_uvloop_p99'), 3)} |",
        "",
        "| target | measured | met |",
        "| --- | ---: | :---: |",
    ]
    for t in data["targets"]:
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {_fmt(t['value'], 3)} {t['unit']} | {met} |")
    mem = data["memory"]
    loads = data["load"]
    pg = loads["postgresql"]
    lines += [
        "",
        f"Resident memory per patron worker: peak {_fmt(mem['patron_worker_max_mb'])} MB over"
        " each round (start, warm-up with its credential checks, and runs);"
        f" {_fmt(mem['patron_worker_max_during_measured_runs_mb'])} MB during the measured runs."
        f" Reference app workers: {_fmt(mem['reference_worker_max_mb'])} MB; patron on SQLite:"
        f" {_fmt(mem['sqlite_worker_max_mb'])} MB.",
        "",
        _exceptions_line(data["server_exceptions"]),
        _timeouts_line(data["runs"]),
        "",
        f"Round trips to the database per update: {data['statements']['update_round_trips']}"
        f" (per details read: {data['statements']['details_round_trips']}), counting BEGIN and"
        " COMMIT where statements run in a transaction (patron skips asyncpg's session reset when"
        " a connection goes back to the pool).",
        _cpu_line(data.get("cpu_per_update_ms")),
        "",
        "| load | rows | seconds | rows/s |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key, label in (
        ("postgresql", f"PostgreSQL, {cfg['customers']:,} customers (COPY)"),
        ("postgresql_small", f"PostgreSQL, {cfg['small_customers']:,} customers"),
        ("sqlite", f"SQLite, {cfg['sqlite_customers']:,} customers (executemany)"),
    ):
        r = loads[key]
        lines.append(
            f"| {label} | {sum(r['rows'].values()):,} | {_fmt(r['seconds']['total'])} |"
            f" {_fmt(r['rows_per_second'], 0)} |"
        )
    lines += [
        "",
        f"PostgreSQL load phases: COPY {_fmt(pg['seconds']['copy'])} s, keys and indexes"
        f" {_fmt(pg['seconds']['constraints'])} s, VACUUM ANALYZE"
        f" {_fmt(pg['seconds']['vacuum_analyze'])} s; database size {_fmt(pg['size_mb'], 0)} MB.",
        _import_line(data.get("import"), data.get("load", {}).get("postgresql")),
        _ledger_line(data.get("ledger")),
        f"Raw figures of every run: `{data['results_file']}`.",
    ]
    return "\n".join(lines) + "\n"


def _stalls_table(med: dict[str, dict[str, float]], seconds: float) -> list[str]:
    """Loop lag and GC pauses of patron's runs (all workers together), medians over rounds."""
    rows = [
        f"| {RUNS[name]} | {int(m['connections'])} | {_fmt(m['lag_seconds'], 2)}"
        f" | {int(m['lag_ticks_over_50ms'])} | {_fmt(m['gc_seconds'], 3)}"
        f" | {int(m['gc_collections'])} | {_fmt(m['gc2_seconds'], 3)} |"
        for name, m in med.items()
        if "lag_seconds" in m
    ]
    return _captioned(
        f"Stalls during patron's runs of {seconds:g} s, from its own /metrics (all workers"
        " together; loop lag is the summed lateness of 100 ms ticks):",
        [
            "run",
            "connections",
            "loop lag s",
            "ticks > 50 ms",
            "GC pauses s",
            "collections",
            "gen-2 s",
        ],
        rows,
    )


def _wal_table(med: dict[str, dict[str, float]]) -> list[str]:
    """WAL per request of the runs on PostgreSQL, medians over rounds, and their checkpoints."""
    rows = [
        f"| {RUNS.get(name, name)} | {int(m['connections'])} | {_fmt(m['wal_kib_per_request'], 2)}"
        f" | {_fmt(m['wal_records_per_request'], 1)} | {_fmt(m['fpi_per_request'], 2)}"
        f" | {int(m['checkpoints_in_runs'])} |"
        for name, m in med.items()
        if "wal_kib_per_request" in m
    ]
    return _captioned(
        "Write-ahead log per request during the runs on PostgreSQL (the server's counters;"
        " a full-page image is a whole page logged by its first change after a checkpoint):",
        ["run", "connections", "WAL KiB", "records", "full-page images", "checkpoints in the runs"],
        rows,
    )


def _captioned(caption: str, columns: list[str], rows: list[str]) -> list[str]:
    """A table of runs under its caption (numbers right-aligned), or nothing without rows."""
    if not rows:
        return []
    header = "| " + " | ".join(columns) + " |"
    return ["", caption, "", header, "| --- |" + " ---: |" * (len(columns) - 1), *rows]


LOOP_PAIRS = (
    ("patron, PUT by lookup", "patron_update", "patron_update_uvloop"),
    ("reference app", "reference_update", "reference_update_uvloop"),
    ("patron on SQLite (1 worker)", "patron_update_sqlite", "patron_update_sqlite_uvloop"),
)
"""Each server run on patron's event loop and again on uvloop, in the same rounds."""


def _loop_table(med: dict[str, dict[str, float]]) -> list[str]:
    """The same updates on patron's event loop and on uvloop (64 connections, medians)."""
    rows = []
    for label, mine, uv in LOOP_PAIRS:
        for loop, name in (("patron's (PATRON_EVENT_LOOP)", mine), ("uvloop", uv)):
            m = med.get(name)
            if m:
                rows.append(
                    f"| {label} | {loop} | {_fmt(m['rps'])} | {_fmt(m['p50_ms'], 2)}"
                    f" | {_fmt(m['p99_ms'], 2)} | {_fmt(m.get('p99_over_p50'), 2)} |"
                )
    if not any("uvloop |" in r for r in rows):
        return []
    return [
        "",
        "The event loop: the same updates on patron's loop and on uvloop, in the same rounds:",
        "",
        "| server | event loop | requests/s | p50 ms | p99 ms | p99/p50 |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        *rows,
    ]


def _gc_effect_table(found: dict[str, Any] | None) -> list[str]:
    """Python's collector settings against patron's, on the same server and load."""
    if not found:
        return []
    lines = [
        "",
        f"Garbage collection, Python's settings against patron's (`bench.gc_effect`:"
        f" {found['workers']} workers, {found['connections']} connections, medians of"
        f" {found['rounds']} runs each):",
        "",
        "| collector | requests/s | p50 ms | p99 ms | p99/p50 | GC pauses s | gen-2 s | loop lag s | ticks > 50 ms | worker MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]  # fmt: skip
    for variant, m in found["medians"].items():
        lines.append(
            f"| {variant.replace('_', ' ')} | {_fmt(m['rps'])} | {_fmt(m['p50_ms'], 2)}"
            f" | {_fmt(m['p99_ms'], 2)} | {_fmt(m['p99_over_p50'], 2)} | {_fmt(m['gc_seconds'], 3)}"
            f" | {_fmt(m.get('gc2_seconds', 0.0), 3)} | {_fmt(m['lag_seconds'], 2)}"
            f" | {int(m['lag_ticks_over_50ms'])} | {_fmt(m.get('worker_rss_mb'), 0)} |"
        )
    return lines


def _cpu_line(cpu: dict[str, Any] | None) -> str:
    if not cpu:
        return ""
    settled = cpu.get("postgresql_settled")
    after = (
        ""
        if not isinstance(settled, dict)
        else f"; measured once PostgreSQL had settled ({settled['waited_s']} s after the runs)"
        if settled.get("settled")
        else f"; PostgreSQL was still busy {settled['waited_s']} s after the runs"
    )
    return (
        f"Python CPU per update, each app driven in process one request at a time"
        f" (`python -m bench.cpu`): patron {_fmt(cpu['patron'], 3)} ms, reference app"
        f" {_fmt(cpu['reference'], 3)} ms ({_fmt(cpu['patron_over_reference'], 2)}x){after}."
    )


def results_path(started: datetime, publish: bool) -> Path:
    """bench/results/<UTC date>.json (bench/results/tmp/ for runs that are not published)."""
    directory = BENCH / "results" if publish else TMP
    directory.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y-%m-%d")
    path = directory / f"{stem}.json"
    counter = 2
    while path.exists():
        path = directory / f"{stem}-{counter}.json"
        counter += 1
    return path


def write_json(path: Path, data: dict[str, Any]) -> None:
    """The results file, indented."""
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def rewrite_docs(section: str, docs: Path = DOCS) -> None:
    """Replace what lies between the markers of docs/performance.md with `section`."""
    text = docs.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise BenchError(f"{docs} has no results markers ({BEGIN} ... {END})")
    docs.write_text(pattern.sub(lambda _: f"{BEGIN}\n\n{section}\n{END}", text), encoding="utf-8")
