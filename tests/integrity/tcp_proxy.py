"""A TCP proxy the tests can cut, stall and restore, to make a database go away and come back.

It runs its own event loop in a background thread and forwards every connection to `target`.
It simulates the two ways a database disappears from a client's point of view, without touching
the shared PostgreSQL server:

* `cut()`: the database is down (restarting, crashed, its host rebooting). Every open connection
  is reset and nothing listens on the port any more, so new connections are refused at once.
* `stall()`: the network is partitioned. Connections stay open but no byte moves either way,
  and new connections are accepted but never answered; clients only notice through their own
  timeouts.

`restore()` brings the database back on the same port: a cut port listens again, and stalled
connections resume where they stopped (nothing is lost, as when a partition heals).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

CHUNK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`; `cut`, `stall` and `restore` change what it does."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- control, from the test's thread ---------------------------------------------------

    def start(self) -> TcpProxy:
        """Listen on a free loopback port and forward."""
        self._thread.start()
        self._call(self._start())
        return self

    def cut(self) -> None:
        """Reset every connection and stop listening: new connections are refused."""
        self._call(self._cut())

    def stall(self) -> None:
        """Keep connections open but move no byte; accept new ones and never answer them."""
        self._call(self._stall())

    def restore(self) -> None:
        """Listen and forward again; stalled connections carry on."""
        self._call(self._restore())

    def close(self) -> None:
        """Drop everything and stop the proxy's thread."""
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    # --- the proxy, on its own loop --------------------------------------------------------

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        # reuse_address lets a cut proxy listen again on the port it had, as a restarted
        # database would.
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _stall(self) -> None:
        assert self._flowing is not None
        self._flowing.clear()

    async def _restore(self) -> None:
        assert self._flowing is not None
        if self._server is None:
            await self._listen()
        self._flowing.set()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(client_w)
        upstream_w: asyncio.StreamWriter | None = None
        try:
            # A stalled proxy accepts but does not even reach the database: the client waits
            # for a greeting that never comes.
            await self._flowing.wait()
            upstream_r, upstream_w = await asyncio.open_connection(*self.target)
            self._writers.add(upstream_w)
            await asyncio.gather(self._pump(client_r, upstream_w), self._pump(upstream_r, client_w))
        except OSError:
            pass  # the database refused; closing the client's side below tells it so
        except asyncio.CancelledError:
            # cut() cancels handlers; ending quietly keeps asyncio's server from logging each
            # cancelled handler as an error.
            pass
        finally:
            self._tasks.discard(task)
            for writer in (client_w, upstream_w):
                if writer is not None:
                    self._writers.discard(writer)
                    writer.close()
                    with contextlib.suppress(OSError, asyncio.CancelledError):
                        await writer.wait_closed()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction until end of file, holding bytes while the proxy is stalled."""
        assert self._flowing is not None
        try:
            while True:
                await self._flowing.wait()
                data = await reader.read(CHUNK)
                if not data:
                    break
                # Bytes read just before a stall are held, not dropped, until it flows again.
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            # One side broke: break the other too (which also ends the opposite pump), as a
            # real connection fails as a whole.
            writer.transport.abort()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER on, 0 s), as a dying server's kernel would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@contextlib.contextmanager
def tcp_proxy(target: tuple[str, int]) -> Iterator[TcpProxy]:
    """A started proxy to `target`, closed when the block ends."""
    proxy = TcpProxy(target).start()
    try:
        yield proxy
    finally:
        proxy.close()
