"""SPEC 8: request heads of at most 16 KiB (431), sent within the header timeout, bounded memory.

Over real sockets against `patron serve` (httptools with patron's bounded protocol), with the
header timeout shortened to 2 s so the slow-client tests do not wait the default 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator

import orjson
import pytest

from tests.served import Server, serve

TIMEOUT_S = 2.0
LIMIT = 16 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(
        tmp_path_factory.mktemp("headers"), PATRON_HEADER_TIMEOUT_SECONDS=str(TIMEOUT_S)
    ) as running:
        yield running


def _exchange(server: Server, head: bytes, timeout: float = 10.0) -> bytes:
    """Send `head` on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        # The server may refuse part-way and close: its answer is still there to read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def _get(headers: list[tuple[str, str]]) -> bytes:
    lines = [b"GET /healthz HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [f"{name}: {value}".encode() for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def test_headers_under_the_limit_are_served(server: Server) -> None:
    answer = _exchange(server, _get([("X-Pad", "a" * (LIMIT - 1024))]))
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Pad", "a" * (LIMIT + 1))],
        [(f"X-Pad-{i}", "a" * 1000) for i in range(17)],
    ],
    ids=["one-large-header", "many-headers"],
)
def test_headers_over_the_limit_are_431(server: Server, headers: list[tuple[str, str]]) -> None:
    answer = _exchange(server, _get(headers))
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    body = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["errors"][0]["code"] == 8116


def test_ten_megabytes_of_headers_are_refused_without_reading_them_all(server: Server) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (10 * 1024 * 1024) + b"\r\n\r\n"
    answer = _exchange(server, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_an_unfinished_request_is_closed_after_the_timeout(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S * 5) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never the blank line
        assert sock.recv(1024) == b""
        assert TIMEOUT_S * 0.8 < time.monotonic() - started < TIMEOUT_S * 3


def test_a_silent_connection_is_closed_after_the_timeout(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S * 5) as sock:
        started = time.monotonic()
        assert sock.recv(1024) == b""
        assert time.monotonic() - started < TIMEOUT_S * 3


async def _slowloris(server: Server, connections: int, seconds: float) -> tuple[int, list[float]]:
    """`connections` clients sending a byte every 0.5 s; (how many the server closed, latencies
    of ordinary requests made meanwhile)."""
    streams = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(connections)]
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
    closed = 0

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal closed
        try:
            for i in range(int(seconds / 0.5)):
                writer.write(head[i : i + 1])
                await writer.drain()
                if await _closed(reader, 0.5):
                    closed += 1
                    return
        except (ConnectionResetError, BrokenPipeError):
            closed += 1
        finally:
            writer.close()

    async def others() -> list[float]:
        latencies = []
        for _ in range(int(seconds)):
            started = time.monotonic()
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 5)
            assert answer.startswith(b"HTTP/1.1 200 "), answer
            latencies.append(time.monotonic() - started)
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.5)
        return latencies

    results = await asyncio.gather(others(), *(drip(r, w) for r, w in streams))
    return closed, results[0]


async def _closed(reader: asyncio.StreamReader, wait: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), wait) == b""
    except TimeoutError:
        return False


def test_slowloris_is_closed_and_others_are_served(server: Server) -> None:
    rss_before = server.rss_kib()
    closed, latencies = asyncio.run(_slowloris(server, 200, seconds=TIMEOUT_S * 3))
    assert closed == 200
    assert latencies and max(latencies) < 2.0, latencies
    assert server.rss_kib() - rss_before < 32 * 1024


async def _flood(server: Server, connections: int, megabytes: int) -> None:
    """`connections` clients each sending `megabytes` of one header, never finishing it."""

    async def one() -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ")
        chunk = b"a" * 65536
        try:
            for _ in range(megabytes * 16):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))


def test_memory_stays_bounded_under_unfinished_large_headers(server: Server) -> None:
    rss_before = server.rss_kib()
    asyncio.run(_flood(server, connections=20, megabytes=50))
    # Each connection is refused once its head passes 16 KiB: the 1,000 MB sent are never held.
    assert server.rss_kib() - rss_before < 32 * 1024


def test_every_log_line_of_the_server_is_json(server: Server) -> None:
    _exchange(server, b"NOT HTTP AT ALL\r\n\r\n")
    lines = [orjson.loads(line) for line in server.log.read_bytes().splitlines() if line.strip()]
    assert all(isinstance(line, dict) for line in lines)
    messages = {line["message"] for line in lines}
    # uvicorn's own lines: start-up, and the warning about a request it cannot parse.
    assert "Application startup complete." in messages
    assert "Invalid HTTP request received." in messages
