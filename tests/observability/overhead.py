"""What the observability middleware costs per request: `python -m tests.observability.overhead`.

A trivial ASGI endpoint is called in a loop, bare and behind `ObservabilityMiddleware` (metrics
on, the JSON request line written to a file, as `patron serve` writes it to standard error); the
difference of the two loops, divided by the number of requests, is the middleware's cost. No
server or network is involved, so nothing else hides it.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from patron.auth.principal import Principal
from patron.observability.logs import ACCESS_LOGGER, JsonFormatter
from patron.observability.metrics import Metrics
from patron.observability.middleware import ObservabilityMiddleware
from patron.orgs.model import OrgId

REQUESTS = 20_000
ROUNDS = 5


class _Route:
    path = "/v2/customers/lookup"


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """What a route does as far as the middleware can tell: it is routed, it answers."""
    scope["route"] = _Route
    scope["state"]["principal"] = Principal(OrgId("acme"), "acme.till")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _loop(app: Any, n: int) -> float:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    started = time.perf_counter()
    for _ in range(n):
        scope: dict[str, Any] = {
            "type": "http",
            "method": "PUT",
            "path": "/v2/customers/lookup",
            "headers": [(b"x-request-id", b"bench-1"), (b"content-type", b"application/json")],
            "state": {},
        }
        await app(scope, receive, send)
    return time.perf_counter() - started


def measure(access_log: bool = True) -> dict[str, float]:
    """Microseconds per request: bare, behind the middleware, and the difference (medians)."""
    wrapped = ObservabilityMiddleware(endpoint, metrics=Metrics(), access_log=access_log)
    logger = logging.getLogger(ACCESS_LOGGER)
    with tempfile.TemporaryFile("w") as sink:
        handler = logging.StreamHandler(sink)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        try:
            bare, observed = [], []
            for _ in range(ROUNDS):
                bare.append(asyncio.run(_loop(endpoint, REQUESTS)) / REQUESTS * 1e6)
                observed.append(asyncio.run(_loop(wrapped, REQUESTS)) / REQUESTS * 1e6)
        finally:
            logger.removeHandler(handler)
    b, o = statistics.median(bare), statistics.median(observed)
    return {"bare_us": b, "observed_us": o, "overhead_us": o - b}


if __name__ == "__main__":
    for log_on in (True, False):
        figures = measure(access_log=log_on)
        print(
            f"access log {'on ' if log_on else 'off'}: "
            + ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
        )
