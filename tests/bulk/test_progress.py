"""`patron import` on a terminal shows a progress bar with the count, rate and ETA; in a pipe it
writes plain lines only, with no control codes."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from starlette.testclient import TestClient

from tests.bulk.support import count, customer_body, make_org, write_jsonl

LINES = 300
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "PATRON_DATABASE_URL": database_url, "COLUMNS": "160", "TERM": "xterm"}


def _import_on_a_terminal(database_url: str, org: str, path: Path) -> tuple[int, str]:
    """Run the import with stderr on a pseudo-terminal; its exit code and what the terminal got."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "patron", "import", "--org", org, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=_env(database_url),
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the follower side closed: the process has exited
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    code = proc.wait(timeout=30)
    assert proc.stdout is not None
    proc.stdout.close()
    return code, b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_a_progress_bar_with_count_rate_and_eta(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, _ = make_org(client)
    path = write_jsonl(tmp_path / "customers.jsonl", (customer_body(n) for n in range(LINES)))

    code, screen = _import_on_a_terminal(database_url, org, path)

    assert code == 0, screen
    assert ANSI.search(screen), "a terminal gets rich's live display (control codes)"
    text = ANSI.sub("", screen)
    assert "importing" in text
    assert f"{LINES}/{LINES}" in text  # lines done / total
    assert re.search(r"[\d,]+ lines/s", text)  # the rate
    assert "ETA" in text and re.search(r"\d+:\d\d:\d\d", text)  # elapsed and remaining time
    assert f"{LINES:,} applied, 0 refused" in text  # the closing summary
    assert count(client, "customers", org) == LINES


def test_a_pipe_gets_plain_lines_without_control_codes(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, _ = make_org(client)
    path = write_jsonl(tmp_path / "customers.jsonl", (customer_body(n) for n in range(20)))

    done = subprocess.run(
        [sys.executable, "-m", "patron", "import", "--org", org, str(path)],
        capture_output=True,
        text=True,
        env=_env(database_url),
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert not ANSI.search(done.stderr)
    assert "20 applied, 0 refused" in done.stderr
    assert count(client, "customers", org) == 20
