"""`patron serve`: the server settings it hands to uvicorn."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from patron.api.event_loop import LOOPS, FairAcceptEventLoop, serving_loop
from patron.api.http_protocol import BoundedHttpToolsProtocol
from patron.cli.main import app as cli

SECRET = {"PATRON_SECRET_KEY": "a-long-random-secret-for-this-test"}


@pytest.mark.parametrize(
    ("env", "workers", "loop"),
    [
        ({}, 2, LOOPS["asyncio"]),
        ({"PATRON_EVENT_LOOP": "uvloop"}, 2, "uvloop"),
        # A lone worker shares its listening socket with nobody: Python's loop, which takes a
        # burst of new connections at once.
        ({}, 1, "asyncio"),
        ({"PATRON_EVENT_LOOP": "uvloop"}, 1, "uvloop"),
    ],
)
def test_serve_runs_the_event_loop_of_the_settings(
    tmp_path: Path, no_server: list[Any], env: dict[str, str], workers: int, loop: str
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "serve",
            "--database-url",
            f"sqlite:///{tmp_path / 'patron.db'}",
            "--workers",
            str(workers),
        ],
        env={**SECRET, **env},
    )
    assert result.exit_code == 0, result.output
    [(_, options)] = no_server
    assert options["loop"] == loop
    assert options["http"] is BoundedHttpToolsProtocol
    assert options["workers"] == workers


def test_an_unknown_event_loop_is_refused(tmp_path: Path, no_server: list[Any]) -> None:
    result = CliRunner().invoke(
        cli,
        ["serve", "--database-url", f"sqlite:///{tmp_path / 'patron.db'}"],
        env={**SECRET, "PATRON_EVENT_LOOP": "tokio"},
    )
    assert result.exit_code != 0
    assert no_server == []


def test_python_s_loop_is_patron_s_class_which_uvicorn_can_load() -> None:
    from uvicorn.config import Config

    factory = Config("unused:app", loop=LOOPS["asyncio"]).get_loop_factory()
    assert factory is FairAcceptEventLoop
    # ... and a lone worker's "asyncio" is Python's own selector loop, which accepts in bulk.
    lone = Config("unused:app", loop=serving_loop("asyncio", 1)).get_loop_factory()
    assert lone is not None
    loop = lone()
    try:
        assert type(loop) is asyncio.SelectorEventLoop
    finally:
        loop.close()


class _CountingSocket(socket.socket):
    """A listening socket that counts the connections it hands over."""

    accepted = 0

    def accept(self) -> tuple[socket.socket, Any]:
        pair = super().accept()
        _CountingSocket.accepted += 1
        return pair


@pytest.mark.parametrize(
    ("loop_class", "first_turn"), [(asyncio.SelectorEventLoop, 3), (FairAcceptEventLoop, 1)]
)
def test_patron_s_loop_accepts_one_waiting_connection_per_turn(
    loop_class: type[asyncio.AbstractEventLoop], first_turn: int
) -> None:
    listening = _CountingSocket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    loop = loop_class()
    clients: list[socket.socket] = []
    made: list[asyncio.BaseTransport] = []

    class Made(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            made.append(transport)

    def one_turn() -> None:
        # Documented: stop() before run_forever() polls once and runs what that scheduled.
        loop.stop()
        loop.run_forever()

    try:
        server = loop.run_until_complete(loop.create_server(Made, sock=listening))
        # Three connections wait in the listen queue before the loop looks.
        clients = [socket.create_connection(listening.getsockname()) for _ in range(3)]
        _CountingSocket.accepted = 0
        one_turn()
        # Python's loop takes every waiting connection in one turn; patron's takes one.
        assert _CountingSocket.accepted == first_turn
        for _ in range(20):
            if len(made) == 3:
                break
            one_turn()
        assert len(made) == 3  # every connection is served in the end
        for transport in made:
            transport.close()
        server.close()
        loop.run_until_complete(server.wait_closed())
    finally:
        for client in clients:
            client.close()
        loop.close()
