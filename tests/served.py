"""`patron serve` as operators run it, in a subprocess on a free port, for tests over raw sockets.

Tests of what the HTTP server does before patron's app sees a request (header limits, the log
uvicorn writes) need the real server process: its own protocol, its own logging, its own RSS.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from tests.conftest import ADMIN_TOKEN, SECRET_KEY
from tests.live import free_port, wait_until

PATRON = str(Path(sys.executable).with_name("patron"))


@dataclass(frozen=True)
class Server:
    """A running `patron serve`: where it listens, its process and its log (stdout and stderr)."""

    port: int
    pid: int
    log: Path

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        """The server process's resident memory, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serve(directory: Path, workers: int = 1, **env: str) -> Iterator[Server]:
    """`patron serve` on an SQLite file under `directory`, with PATRON_* `env` on top."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PATRON_")} | {
        "PATRON_DATABASE_URL": f"sqlite:///{directory / 'served.db'}",
        "PATRON_SECRET_KEY": SECRET_KEY,
        "PATRON_ADMIN_TOKEN": ADMIN_TOKEN,
        **env,
    }
    log = directory / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [PATRON, "serve", "--workers", str(workers), "--port", str(port)],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(port, proc.pid, log)
    try:
        wait_until(lambda: proc.poll() is not None or _ready(server.base), timeout=30)
        assert proc.poll() is None, log.read_text()
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
