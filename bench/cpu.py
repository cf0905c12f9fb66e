"""CPU per update: patron's and the reference app's ASGI apps driven in this process, in turn.

No HTTP server, no load generator, one request at a time: each app gets the same sequence of
`PUT /v2/customers/lookup` requests (`dataset.update_body` shapes, random loaded customers, a
random identifier type) straight through its ASGI interface, and the process CPU time of each
request is recorded (`time.process_time`: this process only, so PostgreSQL's own work is left
out). The medians say how much Python each update costs on each side, which with the two pgbench
figures of `make bench` (patron's statements and the reference's) splits the gap between them
into Python and database work. Rounds alternate the apps (A B A B).

    python -m bench.cpu --database-url postgresql://postgres@127.0.0.1:5432/patron_bench
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Callable, MutableMapping
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import FastAPI

from bench import dataset
from bench.common import BenchError, log, server_loop_factory
from bench.reference_app import ENV_DATABASE_URL
from bench.reference_app import create_app as reference_app
from patron.app import create_app
from patron.config import Settings

Message = MutableMapping[str, Any]


def _request(n: int, k: int) -> tuple[dict[str, Any], bytes]:
    """The ASGI scope and body of update k of customer n."""
    name, value = [
        ("mobile", dataset.mobile(n)),
        ("email", dataset.email(n)),
        ("externalId", dataset.external_id(n)),
    ][k % 3]
    body = orjson.dumps(dataset.update_body(n, k))
    query = {"source": "INSTORE", "identifierName": name, "identifierValue": value}
    auth = dataset.basic_auth(dataset.org_code(dataset.org_index(n)))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/v2/customers/lookup",
        "raw_path": b"/v2/customers/lookup",
        "query_string": urlencode(query).encode(),
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"authorization", auth.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    return scope, body


async def _call(app: FastAPI, scope: dict[str, Any], body: bytes) -> int:
    """Send one request through the app's ASGI interface; its status."""
    sent = False
    status: list[int] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(int(message["status"]))

    await app(scope, receive, send)
    return status[0]


async def _measure(
    make: Callable[[], FastAPI], customers: int, requests: int, seed: int
) -> list[float]:
    """CPU milliseconds of each of `requests` updates (after a warm-up of 200)."""
    app = make()
    rng = random.Random(seed)
    async with app.router.lifespan_context(app):
        cpu: list[float] = []
        for i in range(200 + requests):
            n = rng.randint(1, customers)
            scope, body = _request(n, rng.randrange(1000))
            started = time.process_time()
            status = await _call(app, scope, body)
            if i >= 200:
                cpu.append((time.process_time() - started) * 1000)
            if status != 200:
                raise BenchError(f"update of customer {n} answered {status}")
    return cpu


def measure(database_url: str, customers: int, requests: int, rounds: int) -> dict[str, Any]:
    """Median CPU ms per update of patron and of the reference app, alternating over rounds."""
    os.environ[ENV_DATABASE_URL] = database_url
    apps: dict[str, Callable[[], FastAPI]] = {
        "patron": lambda: create_app(Settings(database_url=database_url, access_log=False)),
        "reference": reference_app,
    }
    medians: dict[str, list[float]] = {name: [] for name in apps}
    for round_no in range(1, rounds + 1):
        order = list(apps) if round_no % 2 else list(reversed(apps))
        for name in order:
            # On the event loop the servers run (PATRON_EVENT_LOOP), for both apps.
            with asyncio.Runner(loop_factory=server_loop_factory()) as runner:
                cpu: list[float] = runner.run(_measure(apps[name], customers, requests, round_no))
            medians[name].append(statistics.median(cpu))
            log(f"round {round_no} {name}: median {medians[name][-1]:.3f} ms CPU per update")
    result = {name: round(statistics.median(v), 3) for name, v in medians.items()}
    return {**result, "patron_over_reference": round(result["patron"] / result["reference"], 3)}


def main() -> None:
    """Command line: print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a database `make bench` loaded")
    parser.add_argument("--customers", type=int, default=10_000, help="draw from customers 1..N")
    parser.add_argument("--requests", type=int, default=3000, help="measured updates per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(orjson.dumps(measure(args.database_url, args.customers, args.requests, args.rounds)))


if __name__ == "__main__":
    main()
