"""Stalls made visible: event-loop lag and GC pauses in /metrics and the log; GC settled."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from patron.observability.metrics import Metrics
from patron.observability.stalls import GcPauses, flush_gc_pauses, watch_event_loop
from patron.runtime import settle_garbage_collection
from tests.live import wait_until
from tests.observability.support import Sample, parse, total, value

LAG = "patron_event_loop_lag_seconds"
GC = "patron_gc_pause_seconds"


class Records(logging.Handler):
    """Keeps the records of one logger."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def stall_log() -> Iterator[Records]:
    logger = logging.getLogger("patron.stalls")
    handler = Records()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def samples(metrics: Metrics) -> dict[Sample, float]:
    return parse(metrics.exposition().decode())


def test_a_blocked_event_loop_is_measured_and_logged(stall_log: Records) -> None:
    metrics = Metrics()

    async def scenario() -> None:
        watcher = asyncio.create_task(
            watch_event_loop(metrics, GcPauses(), every=0.02, warn_after=0.05)
        )
        await asyncio.sleep(0.1)  # a few punctual ticks
        time.sleep(0.15)  # noqa: ASYNC251  (the stall under test: the tick due meanwhile runs late)
        await asyncio.sleep(0.1)
        watcher.cancel()

    asyncio.run(scenario())
    found = samples(metrics)
    ticks = value(found, f"{LAG}_count")
    assert ticks >= 5
    # One tick was at least 100 ms late; the punctual ones were within 50 ms.
    assert value(found, f"{LAG}_bucket", le="0.1") == ticks - 1
    assert value(found, f"{LAG}_bucket", le="0.05") == ticks - 1
    assert value(found, f"{LAG}_sum") >= 0.1
    [stalled] = [r for r in stall_log.records if r.getMessage() == "event loop stalled"]
    assert stalled.levelno == logging.WARNING
    fields = stalled.fields  # type: ignore[attr-defined]
    assert fields["lag_ms"] >= 100 and fields["tasks"] >= 2 and "gc_ms" in fields


def test_gc_pauses_are_counted_by_generation_while_installed() -> None:
    metrics = Metrics()
    pauses = GcPauses()
    pauses.install()
    try:
        gc.collect(0)
        gc.collect(1)
        gc.collect(2)
        gc.collect(2)
    finally:
        pauses.uninstall()
    gc.collect(2)  # not counted: uninstalled
    seconds = flush_gc_pauses(metrics, pauses)
    found = samples(metrics)
    # Allocations in between may start more young collections; the explicit ones are all there.
    assert value(found, f"{GC}_count", generation="0") >= 1
    assert value(found, f"{GC}_count", generation="1") >= 1
    assert value(found, f"{GC}_count", generation="2") == 2
    assert value(found, f"{GC}_sum", generation="2") > 0
    assert total(found, f"{GC}_sum") == pytest.approx(seconds)
    assert flush_gc_pauses(metrics, pauses) == 0.0  # drained


def test_the_app_reports_loop_lag_and_gc_pauses(client: TestClient) -> None:
    before = parse(client.get("/metrics").text)
    gc.collect(2)  # in this thread: the app's callback times it all the same

    def grown() -> bool:
        after = parse(client.get("/metrics").text)
        return value(after, f"{LAG}_count") >= value(before, f"{LAG}_count") + 2 and value(
            after, f"{GC}_count", generation="2"
        ) > value(before, f"{GC}_count", generation="2")

    wait_until(grown, timeout=5)


def test_settling_freezes_what_start_up_left_and_sets_the_gen0_threshold() -> None:
    threshold = gc.get_threshold()
    try:
        settle_garbage_collection(freeze=False, gen0_threshold=0)
        assert gc.get_freeze_count() == 0 and gc.get_threshold() == threshold
        settle_garbage_collection(freeze=True, gen0_threshold=12_345)
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold() == (12_345, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
