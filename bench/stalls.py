"""A server's stalls during a run: loop lag and GC pauses read from its /metrics before and after.

The figures are patron's own metrics (docs/observability.md), summed over its workers by
prometheus-client's multiprocess mode, so the difference of two scrapes is what every worker
spent in the run between them.
"""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

LAG = "patron_event_loop_lag_seconds"
GC = "patron_gc_pause_seconds"
STALL_BUCKET = "0.05"
"""Ticks later than this bound (50 ms, the threshold of the stall log line) count as stalls."""


def scrape(base_url: str) -> dict[str, float]:
    """The stall totals a server reports now (all workers together)."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    out: dict[str, float] = {
        "lag_seconds": 0.0,
        "lag_ticks": 0.0,
        "lag_ticks_within_50ms": 0.0,
        "gc_seconds": 0.0,
        "gc_collections": 0.0,
    }
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == f"{LAG}_sum":
                out["lag_seconds"] += s.value
            elif s.name == f"{LAG}_count":
                out["lag_ticks"] += s.value
            elif s.name == f"{LAG}_bucket" and _bound(s.labels["le"]) == STALL_BUCKET:
                out["lag_ticks_within_50ms"] += s.value
            elif s.name == f"{GC}_sum":
                out["gc_seconds"] += s.value
                key = f"gc{s.labels['generation']}_seconds"
                out[key] = out.get(key, 0.0) + s.value
            elif s.name == f"{GC}_count":
                out["gc_collections"] += s.value
                key = f"gc{s.labels['generation']}_collections"
                out[key] = out.get(key, 0.0) + s.value
    return out


def _bound(le: str) -> str:
    return str(float(le)) if le != "+Inf" else le


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """What happened between two scrapes: totals in seconds, counts, and ticks over 50 ms."""
    d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    ticks = d.pop("lag_ticks")
    within = d.pop("lag_ticks_within_50ms")
    return {
        **{k: round(v, 4) if k.endswith("seconds") else int(v) for k, v in d.items()},
        "lag_ticks": int(ticks),
        "lag_ticks_over_50ms": int(ticks - within),
    }
