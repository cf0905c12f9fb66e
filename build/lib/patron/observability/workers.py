"""The directory prometheus-client's multiprocess mode shares between worker processes.

prometheus-client chooses its mode when it is first imported, from `PROMETHEUS_MULTIPROC_DIR`:
the variable must be in the environment before the workers start. `patron serve --workers N`
(N > 1) therefore prepares it in the parent process, which starts the workers afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def multiprocess_directory(workers: int) -> Iterator[Path | None]:
    """A clean metrics directory for `workers` processes, in the environment while the block runs.

    A directory the operator named is emptied of a previous run's files (stale counters would
    otherwise be added to the new ones) and kept; otherwise, with more than one worker, a fresh
    temporary directory is made and removed at the end. One worker needs none.
    """
    given = os.environ.get(ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        yield path
        return
    if workers <= 1:
        yield None
        return
    path = Path(tempfile.mkdtemp(prefix="patron-metrics-"))
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(path, ignore_errors=True)
