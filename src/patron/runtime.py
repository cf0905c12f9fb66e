"""Tuning of a long-running server process: its garbage collector, settled after start-up.

By the time a worker serves, it holds hundreds of thousands of long-lived objects (modules,
FastAPI's routes and models, pydantic validators, the pool). Python's collector would walk all
of them again in every gen-2 collection, stopping the process for 100 ms or more each time
under load. `settle_garbage_collection` collects once, then moves every surviving object into
the permanent generation (`gc.freeze()`), which the collector never scans, and raises the gen-0
threshold so that the short-lived objects of requests, nearly all freed by reference counting,
do not start a collection every 700 allocations. docs/performance.md has the measurements.
"""

from __future__ import annotations

import gc

DEFAULT_GEN0_THRESHOLD = 700
"""CPython's own gen-0 threshold (3.11), for comparison and for turning the tuning off."""


def settle_garbage_collection(*, freeze: bool, gen0_threshold: int) -> None:
    """Collect start-up's garbage, freeze what survives (if `freeze`) and set the gen-0 threshold.

    `gen0_threshold` 0 leaves the interpreter's threshold as it is.
    """
    if freeze:
        gc.collect()
        gc.freeze()
    if gen0_threshold:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
