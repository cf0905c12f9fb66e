"""What holds patron's event loop, step by step, under a concurrent load of updates.

patron's app runs in this process on asyncio's pure-Python tasks, driven over its ASGI interface
by N concurrent clients sending `PUT /v2/customers/lookup` (bench/cpu.py's requests). Every
callback the loop runs is timed; a task step (from one suspension of a task to the next) longer
than `--slow-ms` is attributed to the pair of places it ran between: the patron (or library)
line where the task resumed and the one where it suspended again. The report lists the
distribution of step times and the spans that took most of the slow steps' time.

The clients start with a cold credential cache, so the first request of each org pays argon2
(in a worker thread): a step of argon2's length would show it running on the loop.

    python -m bench.loop_steps --database-url sqlite:///bench/results/tmp/patron_gc_effect.db \\
        --customers 20000 --clients 64 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from types import FrameType
from typing import Any

from bench.common import BenchError, log
from bench.cpu import _call, _request
from patron.app import create_app
from patron.config import Settings


def _where(task: Any) -> str:
    """Where a suspended task waits: the innermost patron frame of its await chain."""
    if task.done():
        return "(done)"
    found: FrameType | None = None
    coro = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        if "/patron/" in frame.f_code.co_filename or found is None:
            found = frame
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    if found is None:
        return "(unknown)"
    short = found.f_code.co_filename.split("site-packages/")[-1].split("/src/")[-1]
    return f"{short}:{found.f_lineno} ({found.f_code.co_name})"


class StepTimer:
    """Times every callback of the running loop; remembers the slow task steps and their spans."""

    def __init__(self, slow: float) -> None:
        self.slow = slow
        self.steps: list[float] = []
        self.spans: dict[str, float] = {}
        self.span_counts: Counter[str] = Counter()
        self.resumed_at: dict[int, str] = {}
        self._original: Callable[[asyncio.Handle], None] | None = None

    def install(self) -> None:
        """Wrap asyncio's Handle._run (pure-Python tasks make the task of a step reachable)."""
        original = asyncio.events.Handle._run
        self._original = original
        timer = self

        def timed(handle: asyncio.Handle) -> None:
            task = getattr(getattr(handle, "_callback", None), "__self__", None)
            started = time.perf_counter()
            original(handle)
            took = time.perf_counter() - started
            timer.steps.append(took)
            if isinstance(task, asyncio.tasks._PyTask):  # type: ignore[attr-defined]
                key = id(task)
                now = _where(task)
                if took > timer.slow:
                    span = f"{timer.resumed_at.get(key, '(start)')} -> {now}"
                    timer.spans[span] = timer.spans.get(span, 0.0) + took
                    timer.span_counts[span] += 1
                timer.resumed_at[key] = now

        asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        """Put asyncio back."""
        if self._original is not None:
            asyncio.events.Handle._run = self._original  # type: ignore[method-assign,assignment]


async def _drive(
    database_url: str, customers: int, clients: int, seconds: float, timer: StepTimer
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    loop.set_task_factory(lambda lp, coro: asyncio.tasks._PyTask(coro, loop=lp))  # type: ignore[attr-defined,arg-type,unused-ignore]
    app = create_app(Settings(database_url=database_url, access_log=False))
    latencies: list[float] = []
    async with app.router.lifespan_context(app):
        deadline = time.monotonic() + seconds

        async def client(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                # A request arrives from the network: the next one is a new turn of the loop.
                await asyncio.sleep(0)
                n = rng.randint(1, customers)
                scope, body = _request(n, rng.randrange(1000))
                started = time.perf_counter()
                status = await _call(app, scope, body)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise BenchError(f"update of customer {n} answered {status}")

        timer.install()
        try:
            await asyncio.gather(*(client(i) for i in range(clients)))
        finally:
            timer.uninstall()
    latencies.sort()
    return {
        "updates": len(latencies),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


def main() -> None:
    """Command line: print the step distribution and the slowest spans."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a database `make bench` loaded")
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--slow-ms", type=float, default=2.0)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    timer = StepTimer(args.slow_ms / 1000)
    found = asyncio.run(
        _drive(args.database_url, args.customers, args.clients, args.seconds, timer)
    )
    steps = sorted(timer.steps)
    total = sum(steps)
    slow = [s for s in steps if s > timer.slow]
    log(
        f"{found['updates']:,} updates, p50 {found['p50_ms']} ms, p99 {found['p99_ms']} ms;"
        f" {len(steps):,} loop callbacks, {total:.2f} s in all; median"
        f" {statistics.median(steps) * 1e6:.0f} us, p99 {steps[int(len(steps) * 0.99)] * 1000:.2f} ms,"
        f" max {steps[-1] * 1000:.1f} ms; {len(slow):,} over {args.slow_ms:g} ms"
        f" ({sum(slow):.2f} s)"
    )
    for n_ms in (5, 10, 20, 50):
        over = [s for s in steps if s > n_ms / 1000]
        log(f"  steps over {n_ms} ms: {len(over):,} ({sum(over):.2f} s)")
    for span, seconds in sorted(timer.spans.items(), key=lambda kv: -kv[1])[: args.top]:
        count = timer.span_counts[span]
        log(
            f"  {seconds:7.2f} s in {count:6,} slow steps (mean {seconds / count * 1000:.1f} ms): {span}"
        )


if __name__ == "__main__":
    main()
