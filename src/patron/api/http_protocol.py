"""uvicorn's httptools protocol with bounded request heads: a size limit (431) and a deadline.

httptools keeps a header it has not finished reading in memory, without limit, and uvicorn waits
for a request's headers for ever. This protocol counts the bytes of each request's line and
headers as they arrive and answers 431 (code 8116) and closes the connection once they pass
PATRON_MAX_HEADER_BYTES; a connection whose headers are not complete PATRON_HEADER_TIMEOUT_SECONDS
after it opened (or after the first byte of a later request on it) is closed. A connection
therefore never holds more than the limit plus one read (at most 256 KiB) of unparsed head, and a
slow client holds it for a bounded time. Requests within the limits take uvicorn's own path: the
parser is the same, and the counting adds a few additions per request.

It also turns Nagle's algorithm off on every TCP connection (TCP_NODELAY). uvicorn writes a
response's head and body in two writes; Python's event loop sets TCP_NODELAY only on sockets it
knows to be TCP, and the sockets a worker accepts from the listening socket uvicorn's supervisor
hands down (`--workers` above 1) do not say so. With Nagle on, the body waited for the client's
delayed acknowledgement of the head: about 40 ms per request at low concurrency (84 requests/s on
4 connections where 650 were possible). uvloop sets it on every TCP socket itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from patron import errors
from patron.config import Settings

log = logging.getLogger("patron.http")

# "<method> <target> HTTP/1.1\r\n": the request line around its target, method included.
_REQUEST_LINE_OVERHEAD = 20
# ": " and "\r\n" around each header's name and value.
_HEADER_OVERHEAD = 4


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a head already answered with 431."""


@functools.cache
def head_limits() -> tuple[int, float]:
    """(largest request head in bytes, seconds allowed to send it), read once per process."""
    settings = Settings()
    return settings.max_header_bytes, settings.header_timeout_seconds


@functools.cache
def _refusal() -> bytes:
    body = orjson.dumps(
        {
            "errors": [
                errors.Problem(
                    errors.HEADERS_TOO_LARGE, "The request headers are larger than allowed"
                ).to_wire()
            ],
            "warnings": [],
        }
    )
    return b"".join(
        [
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Send every write at once: TCP_NODELAY on a TCP connection (others are left alone)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # closed already: nothing will be sent on it
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose request heads are bounded in size and in time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_head_bytes, self._head_timeout = head_limits()
        # The current request's head: bytes the parser has handed over (line and headers), and
        # bytes received while it was unfinished (including those the parser still holds).
        self._parsed_bytes = 0
        self._raw_bytes = 0
        self._in_head = True
        self._refused = False
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept the connection (Nagle off) and start the clock on its first request's head."""
        no_delay(transport)
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the head clock, then let uvicorn tidy up."""
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser as uvicorn does, refusing a head that grows past the limit."""
        if self._refused:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._refused:
                return  # a callback of ours stopped the parser after answering 431
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        if self._in_head:
            # A header httptools has not finished is buffered inside it, where no callback sees
            # it: bound the raw bytes of an unfinished head too. The whole read counts, so a read
            # holding the end of one pipelined request and the start of the next counts a little
            # more than the head.
            self._raw_bytes += len(data)
            if self._raw_bytes > self._max_head_bytes:
                self._refuse()

    def on_message_begin(self) -> None:
        """A new request: its head is counted from zero and timed from now."""
        super().on_message_begin()
        self._parsed_bytes = _REQUEST_LINE_OVERHEAD
        self._raw_bytes = 0
        self._in_head = True
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        """Count the request target; refuse once the head passes the limit."""
        super().on_url(url)
        self._count(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count one header; refuse once the head passes the limit."""
        super().on_header(name, value)
        self._count(len(name) + len(value) + _HEADER_OVERHEAD)

    def on_headers_complete(self) -> None:
        """The head is in within its bounds: stop its clock and hand the request on."""
        self._in_head = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def _count(self, size: int) -> None:
        self._parsed_bytes += size
        if self._parsed_bytes > self._max_head_bytes:
            self._refuse()
            raise _HeadTooLarge

    def _refuse(self) -> None:
        if self._refused:
            return
        self._refused = True
        self._disarm_head_timer()
        log.info(
            "request headers larger than %d bytes from %s: answered 431",
            self._max_head_bytes,
            self.client[0] if self.client else "?",
        )
        if not self.transport.is_closing():
            self.transport.write(_refusal())
            self.transport.close()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self._head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            # No answer: a client that sends this slowly is not waiting for one.
            self.transport.close()
