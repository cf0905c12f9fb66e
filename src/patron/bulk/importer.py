"""`patron import`: apply a file of registrations and updates in batches, resumably.

Each batch is one write transaction. Its lines are read and resolved with the API's code
(`patron.bulk.lines`); the holders of every identifier the batch's registrations claim are read
in one statement; each registration is planned (`planner.plan`, the API's function) against
those holders plus the identifiers claimed by earlier lines of the batch
(`patron.bulk.planning`), so two lines claiming one identifier end as two sequential API calls
would: the first wins, the second gets 8008 or 8053. Registrations are stored together with COPY
(`batch_writes`); an update line (one with a `lookup`) first stores the registrations before it,
then takes the API's update path (lock, load, holders, plan, `writes.apply`). The batch's refused
lines go to the reject file and the import's committed point (`import_runs`) moves in the same
transaction, so a re-run resumes after the last committed batch and applies nothing twice.

With preparing processes (`patron.bulk.workers`, one per CPU by default), batches of
registrations are read, resolved, planned and turned into COPY records there, a batch per
process ahead of the one being stored; this process reads the holders and streams the records,
in file order. On PostgreSQL it takes one customer id per line before handing a batch over, so
the records come back with the plans (a line that is refused or is an update leaves its id
unused). A batch with update lines is applied here as above, its registrations taking the ids
of their lines.

Into an org that held no identifier when the import started, a planned batch is stored without
reading its holders first: nobody can hold them but a writer beside the import, and the unique
keys catch that writer. After the first such refusal every batch reads its holders again. On
PostgreSQL the batches' foreign keys are checked per batch where the role allows it
(`batch_writes.checks_per_batch`).

A unique key that refuses a row (a concurrent writer took an identifier after the batch read
its holders, or while it skipped that read) rolls the batch back; it is then retried line by
line, and only the guilty lines are refused, with the API's answer to the same race (409: 8008
in the same source/account, 8053 in another; the line is run alone once more to tell which).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO

from patron.bulk import DEFAULT_BATCH_SIZE, batch_writes, checkpoints, workers
from patron.bulk.batch_writes import CopyText, Records, Registration
from patron.bulk.checkpoints import ImportRun
from patron.bulk.formats import FileProblem, Format, Line, count_lines, fingerprint, read_lines
from patron.bulk.lines import Prepared, Refused, prepare, reject_entry
from patron.bulk.planning import ACTOR, Claims, claim, plan_registration, request_id
from patron.bulk.progress import Reporter
from patron.bulk.workers import Lane, Planned
from patron.customers import repository, service
from patron.customers.store import Target, update_one
from patron.db.driver import Connection, Database, UniqueViolation
from patron.errors import ApiError, Problems
from patron.orgs.model import OrgConfig

__all__ = ["ACTOR", "DEFAULT_BATCH_SIZE", "Summary", "request_id", "run_import", "utcnow"]


@dataclass(slots=True)
class Summary:
    """How an import run went."""

    import_id: str
    total: int
    skipped: int
    """Lines committed by earlier runs of the same import (resumed after them)."""
    applied: int
    refused: int
    seconds: float
    already_finished: bool = False
    workers: int = 0
    """Preparing processes this run used (0: it prepared its lines itself)."""

    @property
    def lines_per_second(self) -> float:
        """Lines handled by this run (applied or refused) per second."""
        return (self.applied + self.refused) / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What applying a batch did: lines applied, and the refused lines' reject entries."""

    applied: int
    refused: int
    rejects: bytes


@dataclass(slots=True)
class _Job:
    """A batch handed to a preparing process, and the time its lines are applied at."""

    lines: list[Line]
    now: datetime
    lane: Lane
    planned: asyncio.Task[Planned] = field(init=False)
    ids: list[int] | None = None
    """One customer id per line, taken before the batch was handed over (PostgreSQL)."""


def _batches(lines: Iterator[Line], size: int) -> Iterator[list[Line]]:
    batch: list[Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class _Importer:
    """One run of one import: its committed point, its reject file and its org."""

    def __init__(
        self,
        db: Database,
        config: OrgConfig,
        run: ImportRun,
        rejects: BinaryIO,
        *,
        per_batch: bool = False,
        read_holders: bool = True,
    ) -> None:
        self.db = db
        self.config = config
        self.run = run
        self.rejects = rejects
        self.applied = 0
        self.refused = 0
        self._taking_ids = asyncio.Lock()
        self.per_batch = per_batch
        """Foreign keys may be checked per batch (`batch_writes.checks_per_batch`)."""
        self.read_holders = read_holders
        """Whether a planned batch reads who holds its identifiers before it is stored: not
        while the org held no identifier when the import started and no batch has met a
        holder."""

    async def batch(
        self, lines: list[Line], attempt: int = 1, ids: list[int] | None = None
    ) -> None:
        """Apply one batch in one transaction; line by line when a unique key refused a row.

        `ids`: one customer id per line, taken ahead; otherwise the transaction takes them."""
        now = utcnow()
        prepared = [prepare(line, self.config, now) for line in lines]
        try:
            await self._commit(
                lines, now, lambda conn: self._apply(conn, lines, prepared, now, {}, ids)
            )
        except UniqueViolation as exc:
            if len(lines) > 1:
                await self._one_by_one(lines, ids)
                return
            if attempt < service.ATTEMPTS and service.lost_race(exc):
                # The line lost a race for an identifier: run alone again, it reads the
                # winner's rows and is refused (8008 or 8053) as the API refuses it.
                await self.batch(lines, attempt + 1, ids)
                return
            item = prepared[0]
            problems = item.problems if isinstance(item, Prepared) else Problems()
            taken = service.identifier_taken(exc, problems)
            again = [prepare(lines[0], self.config, now)]
            await self._commit(
                lines, now, lambda conn: self._apply(conn, lines, again, now, {0: taken}, ids)
            )

    async def _one_by_one(self, lines: list[Line], ids: list[int] | None) -> None:
        for n, line in enumerate(lines):
            await self.batch([line], ids=None if ids is None else [ids[n]])

    def hand(self, lane: Lane, lines: list[Line]) -> _Job:
        """Give a batch to a preparing process; on PostgreSQL with one new customer id per line,
        taken first, so its records come back with its plans."""
        now = utcnow()
        job = _Job(lines, now, lane)

        async def planned() -> Planned:
            if self.db.dialect == "postgresql":
                # In hand-over order (the lock is first come, first served), so ids follow
                # the file; SQLite takes them in each batch's transaction instead (MAX + 1).
                async with self._taking_ids, self.db.transaction(write=True) as conn:
                    job.ids = await batch_writes.new_ids(conn, "customers", len(lines))
            return await lane.prepare(self.run.import_id, now, lines, job.ids)

        job.planned = asyncio.ensure_future(planned())
        return job

    async def prepared_batch(self, job: _Job, handed_back: Callable[[], None]) -> None:
        """Apply a batch a preparing process planned; `handed_back` once the lane is free."""
        planned = await job.planned
        if planned.mixed:
            handed_back()
            await self.batch(job.lines, ids=job.ids)
            return
        freed = False

        async def apply(conn: Connection) -> _Outcome:
            nonlocal planned, freed
            if planned.wanted and self.read_holders:
                stored = await repository.holders(conn, self.config.org_id, planned.wanted)
                if stored:
                    planned = await job.lane.replan(stored)
            records: Records | CopyText | None = planned.records
            if records is None:
                ids = await batch_writes.new_ids(conn, "customers", planned.accepted)
                records = await job.lane.records(ids)
            freed = True
            handed_back()
            await batch_writes.copy(
                conn, self.config.org_id, records, job.now, per_batch=self.per_batch
            )
            return _Outcome(planned.accepted, planned.refused, planned.rejects)

        try:
            await self._commit(job.lines, job.now, apply)
        except UniqueViolation:
            if not freed:
                raise
            # Someone holds an identifier after all (a writer beside the import): from now on
            # every batch reads the holders first, as into an org that has customers.
            self.read_holders = True
            await self._one_by_one(job.lines, job.ids)

    async def _commit(
        self,
        lines: list[Line],
        now: datetime,
        apply: Callable[[Connection], Awaitable[_Outcome]],
    ) -> None:
        try:
            async with self.db.transaction(write=True) as conn:
                outcome = await apply(conn)
                data = outcome.rejects
                if data:
                    # Before the commit: a batch that does not commit has its entries cut off
                    # again (here, or by the resume that truncates to the committed offset).
                    self.rejects.seek(self.run.rejects_offset)
                    self.rejects.write(data)
                    self.rejects.flush()
                    os.fsync(self.rejects.fileno())
                moved = replace(
                    self.run,
                    last_line=lines[-1].number,
                    applied=self.run.applied + outcome.applied,
                    refused=self.run.refused + outcome.refused,
                    rejects_offset=self.run.rejects_offset + len(data),
                )
                await checkpoints.advance(conn, self.config.org_id, moved, now)
        except BaseException:
            self.rejects.truncate(self.run.rejects_offset)
            raise
        self.run = moved
        self.applied += outcome.applied
        self.refused += outcome.refused

    async def _apply(
        self,
        conn: Connection,
        lines: list[Line],
        prepared: list[Prepared | Refused],
        now: datetime,
        forced: dict[int, ApiError],
        ids: list[int] | None,
    ) -> _Outcome:
        org_id = self.config.org_id
        wanted = {
            pair
            for n, item in enumerate(prepared)
            if isinstance(item, Prepared) and item.lookup is None and n not in forced
            for pair in item.pairs()
        }
        stored = await repository.holders(conn, org_id, sorted(wanted)) if wanted else {}
        claimed: Claims = {}

        async def store(items: list[Registration], taken: list[int]) -> None:
            await batch_writes.store(
                conn,
                org_id,
                items,
                actor=ACTOR,
                now=now,
                ids=None if ids is None else taken,
                per_batch=self.per_batch,
            )

        pending: list[Registration] = []
        taken: list[int] = []  # the ids taken ahead for the pending registrations' lines
        refused: list[bytes] = []
        applied = 0
        for n, (line, item) in enumerate(zip(lines, prepared, strict=True)):
            if n in forced:
                refused.append(reject_entry(line, forced[n]))
                continue
            if isinstance(item, Refused):
                refused.append(reject_entry(line, item.error))
                continue
            rid = request_id(self.run.import_id, line.number)
            if item.lookup is not None:
                if pending:
                    # The update may name a customer registered earlier in this batch.
                    await store(pending, taken)
                    pending, taken = [], []
                outcome = await self._update(conn, item, rid, now, claimed)
                if outcome is not None:
                    refused.append(reject_entry(line, outcome))
                else:
                    applied += 1
                continue
            p = plan_registration(item, self.config, stored=stored, claimed=claimed, now=now)
            if p.errors:
                refused.append(reject_entry(line, ApiError(p.errors, p.warnings)))
                continue
            pending.append(Registration(p, rid))
            if ids is not None:
                taken.append(ids[n])
            applied += 1
        await store(pending, taken)
        return _Outcome(applied, len(refused), b"".join(refused))

    async def _update(
        self,
        conn: Connection,
        item: Prepared,
        rid: str,
        now: datetime,
        claimed: Claims,
    ) -> ApiError | None:
        """The API's update by lookup, inside the batch's transaction; the refusal, if any."""
        lk = item.lookup
        assert lk is not None and lk.key is not None
        try:
            updated = await update_one(
                conn,
                self.config,
                Target(default_key=lk.key, lookup=lk),
                item.resolved,
                item.problems,
                actor=ACTOR,
                now=now,
                request_id=rid,
            )
        except ApiError as refusal:
            return refusal
        claim(claimed, updated.plan, updated.customer.id)
        return None


def _open_rejects(path: Path, offset: int) -> BinaryIO:
    """The reject file cut back to the committed point (a fresh import starts it empty)."""
    try:
        f = path.open("r+b") if path.exists() else path.open("w+b")
    except OSError as exc:
        raise FileProblem(f"{path}: cannot write the reject file: {exc}") from None
    size = f.seek(0, os.SEEK_END)
    if size < offset:
        f.close()
        raise FileProblem(
            f"{path} holds {size} bytes but the import's committed rejects end at byte {offset}:"
            " resume with the reject file of the interrupted run"
        )
    f.truncate(offset)
    return f


async def run_import(
    db: Database,
    config: OrgConfig,
    path: Path,
    fmt: Format,
    *,
    reject_path: Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    reporter: Callable[[int], Reporter],
    preparing: int | None = None,
) -> Summary:
    """Import `path` into the org (or resume it); FileProblem when the file cannot be used.

    `preparing` processes read, resolve and plan the lines (None: one per CPU when the import
    has more than one batch; 0: this process does it all)."""
    started = time.monotonic()
    import_id = fingerprint(path, fmt)
    async with db.transaction(write=False) as conn:
        run = await checkpoints.get(conn, config.org_id, import_id)
        per_batch = await batch_writes.checks_per_batch(conn)
        empty = not await repository.holds_identifiers(conn, config.org_id)
    if run is None:
        total = count_lines(path, fmt)
        async with db.transaction(write=True) as conn:
            run = await checkpoints.get(conn, config.org_id, import_id) or await checkpoints.start(
                conn,
                config.org_id,
                import_id,
                file_name=path.name,
                file_format=fmt,
                total_lines=total,
                now=utcnow(),
            )
    if run.finished:
        return Summary(import_id, run.total_lines, run.last_line, 0, 0, 0.0, already_finished=True)
    skipped = run.last_line
    if preparing is None:
        preparing = workers.default_count(-(-(run.total_lines - run.last_line) // batch_size))
    with _open_rejects(reject_path, run.rejects_offset) as rejects:
        importer = _Importer(db, config, run, rejects, per_batch=per_batch, read_holders=not empty)
        done_before = run.applied + run.refused
        with reporter(run.total_lines) as progress:
            progress.update(done_before, run.refused)

            def report() -> None:
                progress.update(
                    done_before + importer.applied + importer.refused, importer.run.refused
                )

            batches = _batches(read_lines(path, fmt, after=run.last_line), batch_size)
            if preparing:
                await _pipelined(importer, batches, workers.start(config, preparing), report)
            else:
                for lines in batches:
                    await importer.batch(lines)
                    report()
        async with db.transaction(write=True) as conn:
            await checkpoints.advance(
                conn, config.org_id, replace(importer.run, finished=True), utcnow()
            )
    return Summary(
        import_id,
        run.total_lines,
        skipped,
        importer.applied,
        importer.refused,
        time.monotonic() - started,
        workers=preparing,
    )


async def _pipelined(
    importer: _Importer,
    batches: Iterator[list[Line]],
    lanes: list[Lane],
    report: Callable[[], None],
) -> None:
    """Apply the batches in file order, each lane preparing its next batch meanwhile."""
    jobs: deque[_Job] = deque()

    def hand(lane: Lane) -> None:
        lines = next(batches, None)
        if lines is not None:
            jobs.append(importer.hand(lane, lines))

    try:
        for lane in lanes:
            hand(lane)
        while jobs:
            job = jobs.popleft()
            await importer.prepared_batch(job, partial(hand, job.lane))
            report()
    finally:
        for job in jobs:
            job.planned.cancel()
        for lane in lanes:
            lane.close()
