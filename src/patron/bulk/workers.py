"""Preparing processes: `patron import` reads, resolves and plans lines beside the process that
stores them.

Reading, resolving and planning a line is the CPU-heavy part of an import (the wire model,
`phonenumbers`, the planner, the rows and events); the importing process only has to talk to
the database. A preparing process (a `Lane`) takes a whole batch: it prepares every line with
the API's code (`patron.bulk.lines`), and when the batch holds only registrations it plans them
in order (`patron.bulk.planning`) against the identifiers earlier lines of the batch claim. The
importing process then reads, in the batch's transaction, who already holds the identifiers the
batch wants; only when someone does is the batch planned again against them. With the new
customer ids, the lane turns the plans into the batch's COPY records (`batch_writes.records`),
which the importing process streams in. So the lines are planned exactly as one process plans
them, and each lane prepares its next batch while the importing process stores this one.

On PostgreSQL the importing process takes a batch's customer ids from the sequence before it
hands the batch over (one per line; a line that is refused or is an update leaves its id
unused, as a rolled-back registration does), and the lane answers with the plans and the
records at once, encoded in COPY's text form (`batch_writes.as_text`): the records are built
while earlier batches are stored, not while this one's transaction waits, and the importing
process only streams bytes. SQLite takes its ids inside the write transaction (MAX + 1), so
there the lane builds the records when asked, with those ids.

A lane answers one request at a time, in order; the importing process never sends a lane a
request before it has the answer to the last. A batch with update lines (a `lookup`) is handed
back unplanned: updates lock and load stored customers, which only the importing process can.
A lane ends when its pipe closes, so it never outlives the import, killed or not.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from patron.bulk import batch_writes
from patron.bulk.batch_writes import CopyText, Records, Registration
from patron.bulk.formats import Line
from patron.bulk.lines import Prepared, Refused, prepare, reject_entry
from patron.bulk.planning import ACTOR, plan_registration, request_id
from patron.customers.model import Holder
from patron.errors import ApiError
from patron.orgs.model import OrgConfig


class PreparingFailed(RuntimeError):
    """A preparing process failed (its traceback is the message) or exited."""


@dataclass(frozen=True, slots=True)
class Planned:
    """A lane's answer for a batch: its registrations planned, or `mixed` (not planned)."""

    mixed: bool
    """The batch has update lines: the importing process applies it itself."""
    wanted: list[tuple[str, str]] = field(default_factory=list)
    """The (type, value) of every identifier the batch's registrations add, sorted."""
    accepted: int = 0
    """Registrations planned without errors: the customer ids the records need."""
    refused: int = 0
    rejects: bytes = b""
    """The reject entries of the refused lines, in line order."""
    records: CopyText | None = None
    """The accepted registrations' records in COPY's text form, when the batch came with its
    ids (PostgreSQL)."""


@dataclass(frozen=True, slots=True)
class _Prepare:
    import_id: str
    now: datetime
    lines: list[Line]
    ids: list[int] | None
    """One new customer id per line, taken ahead (PostgreSQL); None: asked for later (SQLite)."""


@dataclass(frozen=True, slots=True)
class _Replan:
    stored: Mapping[tuple[str, str], Sequence[Holder]]


@dataclass(frozen=True, slots=True)
class _Records:
    ids: list[int]


@dataclass(frozen=True, slots=True)
class _Failure:
    text: str


_PART = 64
"""Registrations whose records are built and encoded together, as soon as they are planned: their
objects are still in the CPU's caches, and the records are freed before the next part is
built. Against a whole batch at once, a preparing process spent about 10% less CPU a line."""


class _Batch:
    """The batch a preparing process holds between the importing process's requests."""

    def __init__(self, config: OrgConfig, request: _Prepare) -> None:
        self.config = config
        self.request = request
        self.prepared = [prepare(line, config, request.now) for line in request.lines]
        self.accepted: list[Registration] = []
        self.positions: list[int] = []
        """Where each accepted registration stands in the batch."""

    def mixed(self) -> bool:
        return any(isinstance(p, Prepared) and p.lookup is not None for p in self.prepared)

    def wanted(self) -> list[tuple[str, str]]:
        return sorted(
            {pair for p in self.prepared if isinstance(p, Prepared) for pair in p.pairs()}
        )

    def plan(
        self,
        stored: Mapping[tuple[str, str], Sequence[Holder]],
        wanted: list[tuple[str, str]] | None = None,
    ) -> Planned:
        """Plan every registration in line order against `stored` and the earlier lines' claims."""
        req = self.request
        ids = req.ids
        claimed: dict[tuple[str, str], list[Holder]] = {}
        rejects: list[bytes] = []
        self.accepted = []
        self.positions = []
        texts: list[CopyText] = []
        for n, (line, item) in enumerate(zip(req.lines, self.prepared, strict=True)):
            if isinstance(item, Refused):
                rejects.append(reject_entry(line, item.error))
                continue
            p = plan_registration(item, self.config, stored=stored, claimed=claimed, now=req.now)
            if p.errors:
                rejects.append(reject_entry(line, ApiError(p.errors, p.warnings)))
                continue
            self.accepted.append(Registration(p, request_id(req.import_id, line.number)))
            self.positions.append(n)
            if ids is not None and len(self.accepted) % _PART == 0:
                texts.append(self._text(ids, len(self.accepted) - _PART))
        if ids is not None and len(self.accepted) % _PART:
            texts.append(self._text(ids, len(self.accepted) - len(self.accepted) % _PART))
        return Planned(
            mixed=False,
            wanted=wanted or [],
            accepted=len(self.accepted),
            refused=len(rejects),
            rejects=b"".join(rejects),
            records=None if ids is None else batch_writes.joined(texts),
        )

    def _text(self, ids: list[int], start: int) -> CopyText:
        """The COPY text of the accepted registrations from `start` on, with their lines' ids."""
        return batch_writes.as_text(self.records([ids[n] for n in self.positions[start:]], start))

    def records(self, ids: list[int], start: int = 0) -> Records:
        """The records of the accepted registrations from `start` on, taking `ids` in order."""
        return batch_writes.records(
            self.config.org_id, self.accepted[start:], ids, actor=ACTOR, now=self.request.now
        )


def _answer(config: OrgConfig, batch: _Batch | None, request: object) -> tuple[_Batch | None, Any]:
    """The answer to one request, and the batch the process holds afterwards."""
    if isinstance(request, _Prepare):
        batch = _Batch(config, request)
        if batch.mixed():
            return None, Planned(mixed=True)
        # Planned before anyone knows the stored holders: in an initial load nobody holds
        # anything, and otherwise the importing process asks for a `_Replan`.
        return batch, batch.plan({}, batch.wanted())
    if batch is None:
        raise RuntimeError(f"{type(request).__name__} without a batch")
    if isinstance(request, _Replan):
        return batch, batch.plan(request.stored)
    if isinstance(request, _Records):
        return None, batch.records(request.ids)
    raise RuntimeError(f"unknown request {request!r}")


def _serve(conn: Connection, config: OrgConfig, inherited: list[Connection]) -> None:
    """A preparing process: answer requests until the importing process closes the pipe."""
    # A forked process holds copies of the importing process's ends of every pipe made so far,
    # its own included: while any copy is open, closing (or killing) the importing process
    # would never end this loop.
    for end in inherited:
        end.close()
    # Ctrl-C reaches the whole process group: the importing process handles it and closes the
    # pipe, which ends this loop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A batch's plans are many small objects that live until its records are built, and none
    # is in a cycle: collecting them again and again would only cost time.
    gc.freeze()
    gc.disable()
    batch: _Batch | None = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if isinstance(request, _Prepare):
            # One collection per batch, as a safety net, while no batch is alive: the batch a
            # new one replaces (PostgreSQL) is let go first. A collection walks every live
            # object, and with a planned batch of 2,000 lines alive it took 100-330 ms, nearly a
            # third of the process's CPU.
            batch = None
            gc.collect()
        try:
            batch, answer = _answer(config, batch, request)
        except Exception:
            batch, answer = None, _Failure(traceback.format_exc())
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return
        del answer


class Lane:
    """One preparing process, seen from the importing process."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self._process = process
        self._conn = conn
        self._asking = False

    async def _ask(self, request: object) -> Any:
        assert not self._asking, "a lane answers one request at a time"
        self._asking = True
        try:
            self._conn.send(request)
            answer = await asyncio.to_thread(self._conn.recv)
        except (EOFError, OSError):
            raise PreparingFailed(
                f"preparing process {self._process.pid} exited (exit code {self._process.exitcode})"
            ) from None
        self._asking = False
        if isinstance(answer, _Failure):
            raise PreparingFailed(answer.text)
        return answer

    async def prepare(
        self, import_id: str, now: datetime, lines: list[Line], ids: list[int] | None
    ) -> Planned:
        """Hand the lane a batch; the answer is the batch planned (or `mixed`), with its records
        in COPY's text form when `ids` (one per line, PostgreSQL) came along."""
        answer: Planned = await self._ask(_Prepare(import_id, now, lines, ids))
        return answer

    async def replan(self, stored: Mapping[tuple[str, str], Sequence[Holder]]) -> Planned:
        """Plan the batch again, against the identifiers stored customers hold."""
        answer: Planned = await self._ask(_Replan(stored))
        return answer

    async def records(self, ids: list[int]) -> Records:
        """The batch's records as rows (SQLite), its accepted registrations taking `ids` in
        order."""
        answer: Records = await self._ask(_Records(ids))
        return answer

    def close(self) -> None:
        """End the process: by closing its pipe when it is idle, otherwise (an import that
        stopped mid-batch) by killing it, which also ends a wait for its answer."""
        if self._asking:
            self._process.kill()
        else:
            self._conn.close()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()


def start(config: OrgConfig, count: int) -> list[Lane]:
    """Start `count` preparing processes for the org."""
    # Forking gives a process that has imported everything already (a spawned one spends more
    # than a second of CPU importing patron again); but a fork copies whatever locks other
    # threads hold, so with other threads about (a test runner, an embedding program) spawn.
    forking = os.name == "posix" and threading.active_count() == 1
    context = (
        multiprocessing.get_context("fork") if forking else multiprocessing.get_context("spawn")
    )
    lanes: list[Lane] = []
    for _ in range(count):
        ours, theirs = context.Pipe(duplex=True)
        inherited = [*(lane._conn for lane in lanes), ours]
        process = context.Process(
            target=_serve,
            args=(theirs, config, inherited),
            name="patron-import-prepare",
            daemon=True,
        )
        process.start()
        theirs.close()
        lanes.append(Lane(process, ours))
    return lanes


def default_count(batches: int) -> int:
    """As many preparing processes as this process may use CPUs, when there is more than one
    batch to overlap and more than one CPU; otherwise none (the import prepares in process)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    return min(cpus, batches) if cpus > 1 and batches > 1 else 0
