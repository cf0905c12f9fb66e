"""Nagle's algorithm is off on every connection a worker accepts (patron.api.http_protocol).

`patron serve --workers N` binds the listening socket in uvicorn's supervisor and hands it to
each worker; Python's event loop sets TCP_NODELAY only on sockets that say they are TCP, and
those do not. Without it a response's body (uvicorn's second write) waited for the client's
delayed acknowledgement of its head, about 40 ms a request.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from patron.api.http_protocol import BoundedHttpToolsProtocol
from patron.app import create_app
from patron.db.migrate import upgrade
from tests.conftest import make_settings


@pytest.fixture
def handed_down_socket() -> Iterator[socket.socket]:
    """A listening socket made as uvicorn's supervisor makes it (uvicorn.Config.bind_socket)."""
    config = uvicorn.Config("unused:app", host="127.0.0.1", port=0)
    sock = config.bind_socket()
    try:
        yield sock
    finally:
        sock.close()


def _serve(
    sock: socket.socket, database_url: str, loop: str
) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        create_app(make_settings(database_url)),
        log_level="warning",
        loop=loop,
        http=BoundedHttpToolsProtocol,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    return server, thread


def _nodelay_of_open_connections(server: uvicorn.Server) -> list[int]:
    return [
        conn.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        for conn in list(server.server_state.connections)
    ]


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_connections_accepted_on_a_handed_down_socket_have_nagle_off(
    handed_down_socket: socket.socket, tmp_path: Path, loop: str
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'patron.db'}"
    upgrade(sqlite_url)
    # The reason for the protocol's own setting: this socket does not say it is TCP.
    assert handed_down_socket.proto != socket.IPPROTO_TCP
    server, thread = _serve(handed_down_socket, sqlite_url, loop)
    port = handed_down_socket.getsockname()[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert client.recv(65536).startswith(b"HTTP/1.1 200")
            # The connection is kept alive: the server still holds it.
            assert _nodelay_of_open_connections(server) == [1]
    finally:
        server.should_exit = True
        thread.join(timeout=20)
