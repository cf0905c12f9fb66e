"""Starting, watching and stopping the servers under test (patron and the reference app).

Each server runs in its own session (process group), logs to bench/results/tmp/<name>.log, is
ready when an authenticated request answers 200, and is stopped with SIGTERM (uvicorn's clean
shutdown), then SIGKILL to its group if it lingers. Worker processes are found as the server's
children, and their resident memory is read from /proc/<pid>/status (VmRSS).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import dataset
from bench.common import ROOT, TMP, BenchError, log, venv_bin

READY_TIMEOUT = 90.0


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            kids += [int(k) for k in text.split()]
    except OSError:
        pass
    return kids


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rss_mb(pid: int) -> float | None:
    """A process's resident set size in MiB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Server:
    """One server process (with its uvicorn workers) listening on `port`."""

    name: str
    cmd: list[str]
    port: int
    ready_path: str
    ready_headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log_offset: int = 0

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the server's output goes."""
        return TMP / f"{self.name}.log"

    def start(self) -> None:
        """Start the server (not waiting for it)."""
        if not _port_free(self.port):
            raise BenchError(f"{self.name}: port {self.port} is already in use")
        TMP.mkdir(parents=True, exist_ok=True)
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"

    def wait_ready(self, workers: int) -> None:
        """Poll until the server answers 200 and all its workers are up; BenchError otherwise."""
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer"
        ok = 0
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            while time.monotonic() < deadline:
                if self.proc is None or self.proc.poll() is not None:
                    raise BenchError(f"{self.name} exited while starting:\n{self._log_tail()}")
                try:
                    r = client.get(self.ready_path, headers=self.ready_headers)
                    last = f"{r.status_code} {r.text[:300]}"
                    ok = ok + 1 if r.status_code == 200 else 0
                except httpx.HTTPError as exc:
                    last = repr(exc)
                if ok >= 3 and len(self.workers()) >= workers:
                    return
                time.sleep(0.2)
        raise BenchError(
            f"{self.name} not ready after {READY_TIMEOUT:.0f} s (last: {last}):\n{self._log_tail()}"
        )

    def exceptions(self) -> Counter[str]:
        """The exceptions the server logged with a traceback since it started, by type."""
        found: Counter[str] = Counter()
        try:
            with self.log_path.open("rb") as f:
                f.seek(self.log_offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return found
        in_traceback = False
        for line in text.splitlines():
            if line.startswith("Traceback (most recent call last):"):
                in_traceback = True
            elif (
                in_traceback
                and line.strip()
                and not line[0].isspace()
                and not line.startswith(("During handling", "The above exception"))
            ):
                found[line.split(":", 1)[0]] += 1
                in_traceback = False
        return found

    def workers(self) -> list[int]:
        """The pids of the worker processes (the server process itself when it has none)."""
        if self.proc is None:
            return []
        kids = [k for k in _children(self.proc.pid) if "resource_tracker" not in _cmdline(k)]
        return kids or [self.proc.pid]

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL the process group; check no worker is left."""
        if self.proc is None:
            return
        workers = self.workers()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop within 30 s: killing its process group")
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(rss_mb(w) is not None for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [w for w in workers if rss_mb(w) is not None]
        if left:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise BenchError(f"{self.name}: workers {left} outlived their server; killed them")
        self.proc = None


def patron_server(
    name: str, database_url: str, port: int, workers: int, env: dict[str, str] | None = None
) -> Server:
    """`patron serve --workers N` on `database_url` (the first org's till checks readiness)."""
    org = dataset.org_code(0)
    return Server(
        name=name,
        cmd=[
            str(venv_bin("patron")),
            "serve",
            "--workers",
            str(workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            database_url,
        ],
        port=port,
        ready_path="/v2/customers/lookup?source=INSTORE&identifierName=externalId"
        f"&identifierValue={dataset.external_id(1)}",
        ready_headers={"Authorization": dataset.basic_auth(org)},
        env={
            "PATRON_SECRET_KEY": secrets.token_hex(32),
            "PATRON_ADMIN_TOKEN": secrets.token_hex(24),
            **(env or {}),
        },
    )


def reference_server(
    name: str, database_url: str, port: int, workers: int, env: dict[str, str] | None = None
) -> Server:
    """bench/reference_app.py with patron's server settings (PATRON_* of `env` on top)."""
    return Server(
        name=name,
        cmd=[
            sys.executable,
            "-m",
            "bench.reference_app",
            "--database-url",
            database_url,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        port=port,
        ready_path="/health",
        env=env or {},
    )


@contextmanager
def running(servers: list[Server], workers: dict[str, int]) -> Iterator[list[Server]]:
    """Start the servers, wait until each is ready, and stop them all on the way out."""
    failed = False
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready(workers[server.name])
            log(f"  {server.name} ready on :{server.port} (workers {server.workers()})")
        yield servers
    except BaseException:
        failed = True
        raise
    finally:
        problems = []
        for server in servers:
            try:
                server.stop()
            except (BenchError, OSError, subprocess.SubprocessError) as exc:
                problems.append(str(exc))
        if problems and not failed:
            raise BenchError("; ".join(problems))
        for problem in problems:
            log(f"  while stopping: {problem}")


class RssSampler:
    """Samples the VmRSS of every worker of some servers, in the background, while running."""

    def __init__(self, servers: list[Server], interval: float = 0.25) -> None:
        self.interval = interval
        self.samples: list[tuple[float, str, int, float]] = []
        """(monotonic time, server name, pid, MiB)."""
        self._servers = servers
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        pids = {s.name: s.workers() for s in self._servers}

        def sample() -> None:
            while not self._stop.is_set():
                for name, workers in pids.items():
                    for pid in workers:
                        value = rss_mb(pid)
                        if value is not None:
                            self.samples.append((time.monotonic(), name, pid, value))
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=sample, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def peaks(self, server: str, since: float = 0.0, until: float = float("inf")) -> list[float]:
        """Each worker's peak RSS (MiB) between two `time.monotonic()` instants, sorted."""
        best: dict[int, float] = {}
        for t, name, pid, value in self.samples:
            if name == server and since <= t <= until:
                best[pid] = max(best.get(pid, 0.0), value)
        return sorted(round(v, 1) for v in best.values())
