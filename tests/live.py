"""A real patron server on a free loopback port, for tests that need real concurrency.

The server runs uvicorn in a background thread with its own event loop, against the session's
database of the backend under test; clients talk to it over TCP like any other client.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2 as httpx
import uvicorn

from patron.api.http_protocol import BoundedHttpToolsProtocol
from patron.app import create_app
from tests.conftest import make_settings


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(database_url: str, **settings: Any) -> Iterator[str]:
    """Serve patron on 127.0.0.1:<free port> until the block ends; yields the base URL."""
    port = free_port()
    app = create_app(make_settings(database_url, **settings))
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        loop="asyncio",
        http=BoundedHttpToolsProtocol,
        # As `patron serve`: patron reads X-Forwarded-For itself (PATRON_TRUSTED_PROXIES).
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"patron-{port}", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def wait_until(check: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Call `check()` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


__all__ = ["free_port", "httpx", "live_server", "wait_until"]
