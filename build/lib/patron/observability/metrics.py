"""The Prometheus metrics: their definitions, one registry per app, and the exposition.

`DEFINITIONS` is the one list of what patron measures; the metric objects are built from it and
docs/observability.md is tested against it.

Every app gets its own `Metrics` (and registry), built in `create_app()`, so several apps in one
process (the tests) never collide on a metric name. With several worker processes,
prometheus-client's multiprocess mode keeps every value in a memory-mapped file of
`PROMETHEUS_MULTIPROC_DIR` (see `patron.observability.workers`) and a scrape, whichever worker
answers it, sums the files of all workers.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client import values as _values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from patron.db.driver import Database
from patron.observability.pool import PoolUsage, pool_usage

Kind = Literal["counter", "gauge", "histogram"]

WRITE_KINDS = ("registration", "update")
"""Values of the `kind` label of the writes-applied counter."""

DURATION_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds (seconds) of the request duration histogram: 1 ms to 10 s."""


@dataclass(frozen=True, slots=True)
class MetricDef:
    """One metric: its exposed name, type, labels, meaning and how workers' values combine."""

    name: str
    kind: Kind
    labels: tuple[str, ...]
    help: str
    workers: str

    @property
    def base_name(self) -> str:
        """The name prometheus-client is given (it adds `_total` to counters itself)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name


REQUESTS = MetricDef(
    "patron_http_requests_total",
    "counter",
    ("method", "route", "status"),
    "HTTP requests answered, by method, route template and status.",
    "sum",
)
DURATION = MetricDef(
    "patron_http_request_duration_seconds",
    "histogram",
    ("method", "route"),
    "Time from receiving a request to sending the end of its response.",
    "sum",
)
WRITES = MetricDef(
    "patron_customer_writes_applied_total",
    "counter",
    ("kind",),
    "Registrations and updates that stored something (not dry runs, no-change updates or "
    "Idempotency-Key replays).",
    "sum",
)
ERRORS = MetricDef(
    "patron_errors_total",
    "counter",
    ("code",),
    "Error items of 4xx/5xx response bodies, by catalogue code (docs/errors.md).",
    "sum",
)
POOL_SIZE = MetricDef(
    "patron_db_pool_connections",
    "gauge",
    (),
    "Database connections open (SQLite: the process's one connection, once opened).",
    "livesum",
)
POOL_IN_USE = MetricDef(
    "patron_db_pool_in_use",
    "gauge",
    (),
    "Database connections held by a unit of work right now.",
    "livesum",
)
POOL_IDLE = MetricDef(
    "patron_db_pool_idle", "gauge", (), "Open database connections waiting in the pool.", "livesum"
)
POOL_MAX = MetricDef(
    "patron_db_pool_max",
    "gauge",
    (),
    "Most connections the pool may open (PATRON_POOL_SIZE; 1 on SQLite).",
    "livesum",
)

DEFINITIONS: tuple[MetricDef, ...] = (
    REQUESTS,
    DURATION,
    WRITES,
    ERRORS,
    POOL_SIZE,
    POOL_IN_USE,
    POOL_IDLE,
    POOL_MAX,
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def multiprocess_mode() -> bool:
    """Whether prometheus-client keeps values in PROMETHEUS_MULTIPROC_DIR (fixed at its import)."""
    return _values.ValueClass is not _values.MutexValue


class Metrics:
    """The metric objects of one app, and their exposition."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_mode()
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(REQUESTS.base_name, REQUESTS.help, REQUESTS.labels, registry=r)
        self.duration = Histogram(
            DURATION.base_name, DURATION.help, DURATION.labels, registry=r, buckets=DURATION_BUCKETS
        )
        self.writes = Counter(WRITES.base_name, WRITES.help, WRITES.labels, registry=r)
        self.errors = Counter(ERRORS.base_name, ERRORS.help, ERRORS.labels, registry=r)
        self.pool = {
            d.name: Gauge(d.base_name, d.help, registry=r, multiprocess_mode="livesum")
            for d in (POOL_SIZE, POOL_IN_USE, POOL_IDLE, POOL_MAX)
        }
        for kind in WRITE_KINDS:  # both series exist from the start, at 0
            self.writes.labels(kind)
        # Labelled children, looked up once per label set: `labels()` takes a lock and builds
        # a tuple every time, which is most of the cost of counting a request.
        self._request_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._error_series: dict[int, Counter] = {}
        if self.multiprocess:
            self._exposed = CollectorRegistry()
            MultiProcessCollector(self._exposed)  # type: ignore[no-untyped-call]
        else:
            self._exposed = self.registry
            ProcessCollector(registry=self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        key = (method, route, status)
        series = self._request_series.get(key)
        if series is None:
            # Clients choose the method: anything unusual is one label value, not a new series.
            label = method if method in _METHODS else "OTHER"
            series = (
                self.requests.labels(label, route, str(status)),
                self.duration.labels(label, route),
            )
            self._request_series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    def count_errors(self, codes: Iterable[int]) -> None:
        """Count the error items of one response, by catalogue code."""
        for code in codes:
            counter = self._error_series.get(code)
            if counter is None:
                counter = self._error_series[code] = self.errors.labels(str(code))
            counter.inc()

    def write_applied(self, kind: str) -> None:
        """Count a registration or update that stored something."""
        self.writes.labels(kind).inc()

    def set_pool(self, usage: PoolUsage) -> None:
        """Record this process's database pool usage."""
        self.pool[POOL_SIZE.name].set(usage.size)
        self.pool[POOL_IN_USE.name].set(usage.in_use)
        self.pool[POOL_IDLE.name].set(usage.idle)
        self.pool[POOL_MAX.name].set(usage.max)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format (all workers' values summed)."""
        if self.multiprocess:
            _forget_dead_workers()
        return generate_latest(self._exposed)


def _forget_dead_workers() -> None:
    """Drop the live gauges of worker processes that have exited (a restarted worker's pool)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return
    for name in os.listdir(path):
        match = _LIVE_GAUGE_FILE.match(name)
        if match and not _alive(int(match.group(1))):
            # Two workers scraping at once may both clean the same files.
            with suppress(FileNotFoundError):
                mark_process_dead(int(match.group(1)), path)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


DOC_BEGIN = "<!-- metrics: generated from patron.observability.metrics, do not edit -->\n"
DOC_END = "<!-- end of metrics -->"


def replace_metrics_table(document: str) -> str:
    """`document` with the table between the markers replaced by the current one."""
    start = document.index(DOC_BEGIN) + len(DOC_BEGIN)
    return document[:start] + metrics_markdown() + document[document.index(DOC_END) :]


def metrics_markdown() -> str:
    """The table of docs/observability.md listing every metric (a test keeps them equal)."""
    lines = [
        "| metric | type | labels | across workers | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for d in DEFINITIONS:
        labels = ", ".join(f"`{label}`" for label in d.labels) or "-"
        lines.append(f"| `{d.name}` | {d.kind} | {labels} | {d.workers} | {d.help} |")
    return "\n".join(lines) + "\n"


POOL_SAMPLE_SECONDS = 1.0
"""How often each worker records its pool usage in multiprocess mode."""


async def record_pool_periodically(
    metrics: Metrics, db: Database, *, every: float = POOL_SAMPLE_SECONDS
) -> None:
    """Record `db`'s pool usage every `every` seconds, until cancelled.

    With several workers a scrape reaches one of them, so each worker writes its own figures
    ahead of time; a single process records them at scrape time instead.
    """
    while True:
        metrics.set_pool(pool_usage(db))
        await asyncio.sleep(every)
