"""`patron serve`: the server settings it hands to uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from patron.api.http_protocol import BoundedHttpToolsProtocol
from patron.cli.main import app as cli

SECRET = {"PATRON_SECRET_KEY": "a-long-random-secret-for-this-test"}


@pytest.mark.parametrize(
    ("env", "loop"),
    [({}, "asyncio"), ({"PATRON_EVENT_LOOP": "uvloop"}, "uvloop")],
)
def test_serve_runs_the_event_loop_of_the_settings(
    tmp_path: Path, no_server: list[Any], env: dict[str, str], loop: str
) -> None:
    result = CliRunner().invoke(
        cli,
        ["serve", "--database-url", f"sqlite:///{tmp_path / 'patron.db'}", "--workers", "2"],
        env={**SECRET, **env},
    )
    assert result.exit_code == 0, result.output
    [(_, options)] = no_server
    assert options["loop"] == loop
    assert options["http"] is BoundedHttpToolsProtocol
    assert options["workers"] == 2


def test_an_unknown_event_loop_is_refused(tmp_path: Path, no_server: list[Any]) -> None:
    result = CliRunner().invoke(
        cli,
        ["serve", "--database-url", f"sqlite:///{tmp_path / 'patron.db'}"],
        env={**SECRET, "PATRON_EVENT_LOOP": "tokio"},
    )
    assert result.exit_code != 0
    assert no_server == []
