"""The event loop of `patron serve`'s workers: Python's selector loop, accepting one connection
per turn.

Workers share one listening socket, and every worker's loop wakes up when a connection arrives.
Python's loop then accepts as many as are waiting (up to the listen backlog, 2048 here), so a
burst of new connections, such as a load balancer opening its pool, went mostly to whichever
worker woke first: 47 of 64 to one worker and 17 to the other in one measured run. A worker's
share of the CPU does not follow its share of connections, so the clients of the crowded worker
waited about three times as long (p99/p50 8.7 in that run). Accepting one connection per turn
of the loop lets the other workers take theirs, and a busy worker, slower to come round, takes
fewer. docs/performance.md, "The event loop", has the measurements.

A lone worker has nobody to share with, and there one connection per turn only costs: each turn
serves every connection already taken, so the turns grow as connections are taken and the last
of a burst of 64 waited about a second to be accepted (on SQLite, where a turn runs its requests
to the end). `serving_loop` therefore gives a single worker Python's own loop.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any


class FairAcceptEventLoop(asyncio.SelectorEventLoop):
    """asyncio's selector event loop that accepts at most one connection per turn."""

    def _accept_connection(
        self,
        protocol_factory: Any,
        sock: socket.socket,
        sslcontext: Any = None,
        server: Any = None,
        backlog: int = 100,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        # `backlog` here is only how many to accept in one go: the socket's listen backlog was
        # set before, from the same number, and stays as it is.
        super()._accept_connection(  # type: ignore[misc]
            protocol_factory, sock, sslcontext, server, 1, *args, **kwargs
        )


LOOPS = {"asyncio": "patron.api.event_loop:FairAcceptEventLoop", "uvloop": "uvloop"}
"""uvicorn's `loop` option for each PATRON_EVENT_LOOP, when workers share a listening socket."""


def serving_loop(event_loop: str, workers: int) -> str:
    """uvicorn's `loop` option for PATRON_EVENT_LOOP `event_loop` and `workers` processes."""
    if event_loop == "asyncio" and workers == 1:
        # Python's own loop, which accepts every waiting connection at once: no other worker
        # is there to leave any to.
        return "asyncio"
    return LOOPS[event_loop]
