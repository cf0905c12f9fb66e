"""`patron import`: apply a file of registrations and updates in batches, resumably.

Each batch is one write transaction. Its lines are read and resolved with the API's code
(`patron.bulk.lines`); the holders of every identifier the batch's registrations claim are read
in one statement; each registration is planned (`planner.plan`, the API's function) against
those holders plus the identifiers claimed by earlier lines of the batch, so two lines claiming
one identifier end as two sequential API calls would: the first wins, the second gets 8008 or
8053. Registrations are stored together with COPY (`batch_writes`); an update line (one with a
`lookup`) first stores the registrations before it, then takes the API's update path (lock,
load, holders, plan, `writes.apply`). The batch's refused lines go to the reject file and the
import's committed point (`import_runs`) moves in the same transaction, so a re-run resumes after
the last committed batch and applies nothing twice.

A unique key that refuses a row (a concurrent writer took an identifier after the batch read
its holders) rolls the batch back; it is then retried line by line, and only the guilty lines
are refused, with the API's answer to the same race (409, 8008).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from patron.bulk import batch_writes, checkpoints
from patron.bulk.batch_writes import Registration
from patron.bulk.checkpoints import ImportRun
from patron.bulk.formats import FileProblem, Format, Line, count_lines, fingerprint, read_lines
from patron.bulk.lines import Prepared, Refused, prepare, reject_entry
from patron.bulk.progress import Reporter
from patron.customers import repository, service, writes
from patron.customers.model import Actor, Holder
from patron.customers.planner import plan
from patron.customers.resolve import Problems
from patron.db.driver import Connection, Database, UniqueViolation
from patron.errors import ApiError
from patron.orgs.model import OrgConfig

ACTOR = Actor("import", "IMPORT")
"""Who history entries and events of imported lines name (`by`: code `import`, type `IMPORT`)."""

DEFAULT_BATCH_SIZE = 2000


def request_id(import_id: str, line: int) -> str:
    """The request id of an imported line: `import:<import id>:<line>` (at most 50 characters)."""
    return f"import:{import_id}:{line}"


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

    @property
    def lines_per_second(self) -> float:
        """Lines handled by this run (applied or refused) per second."""
        return (self.applied + self.refused) / self.seconds if self.seconds > 0 else 0.0


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

    def __init__(self, db: Database, config: OrgConfig, run: ImportRun, rejects: BinaryIO) -> None:
        self.db = db
        self.config = config
        self.run = run
        self.rejects = rejects
        self.applied = 0
        self.refused = 0

    async def batch(self, lines: list[Line]) -> None:
        """Apply one batch in one transaction; line by line when a unique key refused a row."""
        now = utcnow()
        prepared = [prepare(line, self.config, now) for line in lines]
        try:
            await self._commit(lines, prepared, now, {})
        except UniqueViolation as exc:
            if len(lines) > 1:
                for line in lines:
                    await self.batch([line])
                return
            # The line itself lost a race for an identifier: refused as the API refuses it.
            item = prepared[0]
            problems = item.problems if isinstance(item, Prepared) else Problems()
            taken = service.identifier_taken(exc, problems)
            await self._commit(lines, [prepare(lines[0], self.config, now)], now, {0: taken})

    async def _commit(
        self,
        lines: list[Line],
        prepared: list[Prepared | Refused],
        now: datetime,
        forced: dict[int, ApiError],
    ) -> None:
        try:
            async with self.db.transaction(write=True) as conn:
                applied, refused = await self._apply(conn, lines, prepared, now, forced)
                data = b"".join(reject_entry(line, error) for line, error in refused)
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
                    applied=self.run.applied + applied,
                    refused=self.run.refused + len(refused),
                    rejects_offset=self.run.rejects_offset + len(data),
                )
                await checkpoints.advance(conn, self.config.org_id, moved, now)
        except BaseException:
            self.rejects.truncate(self.run.rejects_offset)
            raise
        self.run = moved
        self.applied += applied
        self.refused += len(refused)

    async def _apply(
        self,
        conn: Connection,
        lines: list[Line],
        prepared: list[Prepared | Refused],
        now: datetime,
        forced: dict[int, ApiError],
    ) -> tuple[int, list[tuple[Line, ApiError]]]:
        org_id = self.config.org_id
        wanted = {
            pair
            for n, item in enumerate(prepared)
            if isinstance(item, Prepared) and item.lookup is None and n not in forced
            for pair in item.pairs()
        }
        stored = await repository.holders(conn, org_id, sorted(wanted)) if wanted else {}
        # Identifiers claimed by earlier lines of this batch that `stored` cannot know about.
        claimed: dict[tuple[str, str], list[Holder]] = {}
        pending: list[Registration] = []
        refused: list[tuple[Line, ApiError]] = []
        applied = 0
        for n, (line, item) in enumerate(zip(lines, prepared, strict=True)):
            if n in forced:
                refused.append((line, forced[n]))
                continue
            if isinstance(item, Refused):
                refused.append((line, item.error))
                continue
            rid = request_id(self.run.import_id, line.number)
            if item.lookup is not None:
                if pending:
                    # The update may name a customer registered earlier in this batch.
                    await batch_writes.store(conn, org_id, pending, actor=ACTOR, now=now)
                    pending = []
                outcome = await self._update(conn, item, rid, now, claimed)
                if outcome is not None:
                    refused.append((line, outcome))
                else:
                    applied += 1
                continue
            holders = {
                pair: [*stored.get(pair, ()), *claimed.get(pair, ())]
                for pair in item.pairs()
                if pair in stored or pair in claimed
            }
            p = plan(
                None,
                item.resolved,
                item.problems,
                self.config,
                holders=holders,
                now=now,
                actor=ACTOR,
            )
            if p.errors:
                refused.append((line, ApiError(p.errors, p.warnings)))
                continue
            for key, type_, value in p.writes.new_identifiers:
                # Not yet stored: a negative id stands for "another customer" until it is.
                claimed.setdefault((type_, value), []).append(Holder(*key, -line.number))
            pending.append(Registration(p, rid))
            applied += 1
        await batch_writes.store(conn, org_id, pending, actor=ACTOR, now=now)
        return applied, refused

    async def _update(
        self,
        conn: Connection,
        item: Prepared,
        rid: str,
        now: datetime,
        claimed: dict[tuple[str, str], list[Holder]],
    ) -> ApiError | None:
        """The API's update by lookup, inside the batch's transaction; the refusal, if any."""
        org_id = self.config.org_id
        lk = item.lookup
        assert lk is not None and lk.key is not None
        customer = await repository.lock_and_load(
            conn, org_id, now=now, key=lk.key, id_type=lk.id_type, value=lk.value
        )
        if customer is None:
            missing = await service.not_found(conn, self.config, lk)
            return ApiError([missing, *item.problems.errors], item.problems.warnings)
        holders = await repository.holders(conn, org_id, item.pairs())
        p = plan(
            customer,
            item.resolved,
            item.problems,
            self.config,
            holders=holders,
            now=now,
            actor=ACTOR,
        )
        if p.errors:
            return ApiError(p.errors, p.warnings)
        if p.changed:
            await writes.apply(conn, org_id, p, request_id=rid, actor=ACTOR, now=now, new=False)
            for key, type_, value in p.writes.new_identifiers:
                claimed.setdefault((type_, value), []).append(Holder(*key, customer.id))
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
) -> Summary:
    """Import `path` into the org (or resume it); FileProblem when the file cannot be used."""
    started = time.monotonic()
    import_id = fingerprint(path, fmt)
    async with db.transaction(write=False) as conn:
        run = await checkpoints.get(conn, config.org_id, import_id)
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
    with _open_rejects(reject_path, run.rejects_offset) as rejects:
        importer = _Importer(db, config, run, rejects)
        done_before = run.applied + run.refused
        with reporter(run.total_lines) as progress:
            progress.update(done_before, run.refused)
            for lines in _batches(read_lines(path, fmt, after=run.last_line), batch_size):
                await importer.batch(lines)
                progress.update(
                    done_before + importer.applied + importer.refused, importer.run.refused
                )
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
    )
