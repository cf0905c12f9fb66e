"""An import killed mid-file resumes where its last batch committed: nothing applied twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from starlette.testclient import TestClient

from tests.bulk.support import cli as patron
from tests.bulk.support import count, customer_body, make_org, rejects, rows, write_jsonl

LINES = 3000
BAD = {n for n in range(1, LINES + 1) if n % 10 == 7}
"""Lines with an invalid mobile: refused, each must appear in the reject file exactly once."""


def _body(n: int) -> dict[str, object]:
    body = customer_body(n)
    if n in BAD:
        body["profiles"][0]["identifiers"][0]["value"] = "12"  # type: ignore[index]
    return body


def _committed(client: TestClient, org: str) -> int:
    found = rows(client, "SELECT last_line FROM import_runs WHERE org_id = $1", org)
    return int(found[0]["last_line"]) if found else 0


def test_rule_import_resumes_after_a_kill_without_applying_a_line_twice(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, _ = make_org(client)
    file = write_jsonl(tmp_path / "big.jsonl", [_body(n) for n in range(1, LINES + 1)])
    patron_bin = Path(sys.executable).with_name("patron")
    proc = subprocess.Popen(
        [patron_bin, "import", str(file), "--org", org, "--batch-size", "100", "--workers", "2"],
        env={**os.environ, "PATRON_DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _committed(client, org) < 300 and proc.poll() is None:
            assert time.monotonic() < deadline, "the import committed nothing"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    interrupted_at = _committed(client, org)
    assert 0 < interrupted_at < LINES, "the import was not interrupted mid-file"

    result = patron(database_url, "import", str(file), "--org", org, "--batch-size", "700")

    assert result.exit_code == 1, result.output
    assert f"resumed after line {interrupted_at:,}" in result.output
    valid = LINES - len(BAD)
    assert count(client, "customers", org) == valid
    assert count(client, "customer_history", org) == valid
    assert count(client, "outbox", org) == valid
    found = [e["line"] for e in rejects(tmp_path / "big.jsonl.rejects.jsonl")]
    assert found == sorted(BAD)
    [run] = rows(
        client, "SELECT applied, refused, finished_at FROM import_runs WHERE org_id = $1", org
    )
    assert (run["applied"], run["refused"]) == (valid, len(BAD))
    assert run["finished_at"] is not None

    again = patron(database_url, "import", str(file), "--org", org)

    assert again.exit_code == 0
    assert "had already finished: nothing to do" in again.output
    assert count(client, "customers", org) == valid
    assert len(rejects(tmp_path / "big.jsonl.rejects.jsonl")) == len(BAD)
