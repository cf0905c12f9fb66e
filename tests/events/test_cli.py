"""`patron relay` as an operator runs it, watched by a plain NATS subscriber (docs/events.md)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import nats
import orjson
from starlette.testclient import TestClient
from typer.testing import CliRunner

from patron.cli.main import app
from tests.builders import profile, register
from tests.events.support import new_org, pending
from tests.live import free_port

runner = CliRunner()


def test_a_subscriber_sees_events_the_relay_publishes(
    client: TestClient, database_url: str, nats_url: str
) -> None:
    org = new_org(client)
    cid = register(client, profile(firstName="Watched"), auth=org.auth)

    async def watch() -> tuple[int, list[nats.aio.msg.Msg]]:
        nc = await nats.connect(nats_url)
        try:
            sub = await nc.subscribe(f"patron.{org.code}.>")  # the docs' subscriber
            result = await asyncio.to_thread(
                runner.invoke,
                app,
                ["relay", "--once", "--database-url", database_url, "--nats-url", nats_url],
            )
            msg = await sub.next_msg(timeout=5)
            await sub.unsubscribe()
            return result.exit_code, [msg]
        finally:
            await nc.close()

    exit_code, msgs = asyncio.run(watch())
    assert exit_code == 0
    assert pending(client) == 0
    (msg,) = msgs
    assert msg.subject == f"patron.{org.code}.customer.registered"
    body = orjson.loads(msg.data)
    assert body["customerId"] == cid
    assert body["type"] == "customer.registered"
    assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == body["eventId"]


def _once_with_nats_down(database_url: str) -> list[str]:
    """`patron relay --once` arguments against a port where no NATS listens."""
    return [
        "relay",
        "--once",
        "--database-url",
        database_url,
        "--nats-url",
        f"nats://127.0.0.1:{free_port()}",
    ]


def test_relay_once_exits_1_when_nats_is_down(client: TestClient, database_url: str) -> None:
    org = new_org(client)
    register(client, auth=org.auth)
    result = runner.invoke(app, _once_with_nats_down(database_url))
    assert result.exit_code == 1
    assert pending(client) == 1


def test_relay_refuses_a_bad_database_url() -> None:
    result = runner.invoke(app, ["relay", "--once", "--database-url", "mysql://x"])
    assert result.exit_code == 2
    assert "PATRON_DATABASE_URL" in result.output


def test_the_relay_command_logs_json_lines(client: TestClient, database_url: str) -> None:
    # A process of its own: in-process, the test runner's logging configuration stays in place.
    org = new_org(client)
    register(client, auth=org.auth)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "patron"), *_once_with_nats_down(database_url)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = [orjson.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert lines, done.stderr
    assert {line["logger"] for line in lines} <= {"patron.relay", "patron.events.relay"}
    assert all({"ts", "level", "pid", "message"} <= line.keys() for line in lines)
    assert any(line["message"] == "1 events pending" for line in lines)
    assert any(line["level"] == "error" for line in lines)
