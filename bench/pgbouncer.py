"""A PgBouncer in transaction pooling mode in front of a PostgreSQL server, as operators run it.

Used by the bench (one run of patron through it) and by `.ci/run` (the PostgreSQL tests through
it): `python -m bench.pgbouncer start DIR PORT` writes DIR/pgbouncer.ini and starts the daemon,
`python -m bench.pgbouncer stop DIR` stops it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

UPSTREAM_HOST = "127.0.0.1"
UPSTREAM_PORT = 5432

# Any database, created at any time, is reached through the wildcard entry; patron sends
# application_name only, and asyncpg and libpq clients may send the three ignored parameters.
CONFIG = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {dir}/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
ignore_startup_parameters = extra_float_digits,options,search_path
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
admin_users = postgres
"""


def binary() -> str | None:
    """The pgbouncer executable, if installed (Debian puts it in /usr/sbin)."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/bin")


def start(directory: Path, port: int) -> None:
    """Write the configuration under `directory` and start PgBouncer on 127.0.0.1:`port`."""
    exe = binary()
    if exe is None:
        raise RuntimeError("pgbouncer is not installed (apt-get install pgbouncer)")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(
        CONFIG.format(host=UPSTREAM_HOST, port=UPSTREAM_PORT, listen_port=port, dir=directory)
    )
    command = [exe, "-d", str(ini)]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root: it runs as the postgres user, who must own its files.
        shutil.chown(directory, "postgres")
        for path in directory.iterdir():
            shutil.chown(path, "postgres")
        command[1:1] = ["-u", "postgres"]
    subprocess.run(command, check=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not listen on {port}") from None
            time.sleep(0.1)


def stop(directory: Path) -> None:
    """Stop the PgBouncer started with `directory`, if it runs."""
    pidfile = directory / "pgbouncer.pid"
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text().strip())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


@contextmanager
def running(directory: Path, port: int) -> Iterator[int]:
    """A PgBouncer on `port` for the block's duration; yields the port."""
    start(directory, port)
    try:
        yield port
    finally:
        stop(directory)


def through(url: str, port: int) -> str:
    """`url` (a direct PostgreSQL URL) with its host and port replaced by the PgBouncer's."""
    parsed = urlsplit(url)
    user = f"{parsed.username}@" if parsed.username else ""
    return urlunsplit(parsed._replace(netloc=f"{user}127.0.0.1:{port}"))


def main(argv: list[str]) -> int:
    """`start DIR PORT` or `stop DIR`."""
    if len(argv) == 3 and argv[0] == "start":
        start(Path(argv[1]).resolve(), int(argv[2]))
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        stop(Path(argv[1]).resolve())
        return 0
    print("usage: python -m bench.pgbouncer start DIR PORT | stop DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
