"""Stalls of a worker made visible: how late its event loop runs, and its garbage-collector pauses.

One coroutine per worker (`watch_event_loop`) sleeps for a fixed tick and records how much later
than asked it woke up: with nothing blocking the loop that is well under a millisecond, and any
excess is time every request in flight on that worker waited too. A tick more than
`warn_after` late also writes a JSON warning line naming how much of it the garbage collector
took.

`GcPauses` times every collection through `gc.callbacks`. The callback only appends to a list:
a collection can start inside any allocation, including one made while prometheus-client holds
its (non-reentrant) lock, so recording the metric there could deadlock. The watcher moves the
pauses into the metrics on each tick instead.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

from patron.observability.metrics import Metrics

log = logging.getLogger("patron.stalls")

TICK_SECONDS = 0.1
"""How often the watcher asks to wake up."""

WARN_AFTER_SECONDS = 0.05
"""A tick later than this is logged as a stall."""


class GcPauses:
    """Times Python's garbage collections while installed (`install` / `uninstall`)."""

    def __init__(self) -> None:
        self._pending: list[tuple[int, float]] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        # Runs inside the collector: no locks, no logging; a tuple and an append at most.
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._pending.append((info["generation"], time.perf_counter() - self._started))

    def install(self) -> None:
        """Start timing collections (once per instance)."""
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        """Stop timing collections."""
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def drain(self) -> list[tuple[int, float]]:
        """The (generation, seconds) of the collections since the last call."""
        pending, self._pending = self._pending, []
        return pending


def flush_gc_pauses(metrics: Metrics, pauses: GcPauses) -> float:
    """Move the recorded collections into `metrics`; their total seconds."""
    total = 0.0
    for generation, seconds in pauses.drain():
        metrics.observe_gc_pause(generation, seconds)
        total += seconds
    return total


async def watch_event_loop(
    metrics: Metrics,
    pauses: GcPauses,
    *,
    every: float = TICK_SECONDS,
    warn_after: float = WARN_AFTER_SECONDS,
) -> None:
    """Record the loop's lag every `every` seconds (and the GC pauses since), until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every
        await asyncio.sleep(every)
        late = max(0.0, loop.time() - due)
        metrics.observe_loop_lag(late)
        gc_seconds = flush_gc_pauses(metrics, pauses)
        if late > warn_after:
            log.warning(
                "event loop stalled",
                extra={
                    "fields": {
                        "lag_ms": round(late * 1000, 1),
                        # Collections since the previous tick: the part of the stall they explain.
                        "gc_ms": round(gc_seconds * 1000, 1),
                        "tasks": len(asyncio.all_tasks(loop)),
                    }
                },
            )
