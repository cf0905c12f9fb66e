"""The relay: publishes the outbox to NATS JetStream, at least once, in outbox order.

A batch is the oldest pending events. Each is published with `Nats-Msg-Id` = its event id and its
acknowledgement awaited before the next is sent, so the stream holds them in outbox order; the
acknowledged ones are then marked published. On PostgreSQL the batch is selected (locked, under
the relay's advisory lock), published and marked in one transaction. On SQLite it is read, then
published, then marked in a short write transaction, so that the API's writers never wait on
NATS. Either way an event is marked only after JetStream acknowledged it: a crash in between
publishes it again, and JetStream drops the copy within the stream's duplicate window.

When NATS or the database fails, the relay logs it, drops its NATS connection, waits (bounded
exponential back-off) and starts again from the oldest pending event: nothing is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from patron.db.driver import Database, DatabaseUnavailable
from patron.events import outbox
from patron.events.model import STREAM, SUBJECT_PREFIX
from patron.events.outbox import Pending

log = logging.getLogger("patron.relay")

STREAM_SUBJECTS = f"{SUBJECT_PREFIX}.>"
"""What the stream listens on."""

PENDING_CAP = 10_000
"""The per-batch log line counts pending events up to this many (`10,000+ pending` beyond)."""

PURGE_BATCH = 1000
"""Rows one purge statement deletes at most."""

PURGE_EVERY_SECONDS = 60.0
"""How often a running relay purges old published events."""

BACKOFF_START_SECONDS = 0.2


class NatsUnavailable(Exception):
    """NATS refused, dropped or did not acknowledge in time (never an OSError, so a PostgreSQL
    transaction around a publish does not take it for a lost database connection)."""


class RelayFailed(Exception):
    """A `--once` run could not publish everything pending."""


@dataclass(frozen=True, slots=True)
class RelayOptions:
    """How the relay connects, batches, waits and purges."""

    nats_url: str = "nats://127.0.0.1:4222"
    batch_size: int = 200
    poll_interval: float = 1.0
    retention: timedelta = timedelta(days=7)
    publish_timeout: float = 2.0
    connect_timeout: float = 2.0
    max_backoff: float = 30.0
    duplicate_window: float = 120.0


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


async def _quiet(exc: Exception) -> None:
    # nats-py reports connection errors here as well as to the caller; the relay logs them once,
    # where it handles them.
    log.debug("nats: %s", exc)


async def ensure_stream(js: JetStreamContext, duplicate_window: float) -> None:
    """Create the stream if it is missing; add `patron.>` to an existing one that lacks it.

    An existing stream's other settings (retention, limits, replicas, duplicate window) are the
    operator's and stay as they are.
    """
    try:
        info = await js.stream_info(STREAM)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(
                StreamConfig(
                    name=STREAM, subjects=[STREAM_SUBJECTS], duplicate_window=duplicate_window
                )
            )
            log.info("created JetStream stream %s on %s", STREAM, STREAM_SUBJECTS)
            return
        except nats.js.errors.BadRequestError:
            info = await js.stream_info(STREAM)  # another relay created it meanwhile
    subjects = list(info.config.subjects or [])
    if STREAM_SUBJECTS not in subjects:
        info.config.subjects = [*subjects, STREAM_SUBJECTS]
        await js.update_stream(info.config)
        log.warning("stream %s did not listen on %s; subject added", STREAM, STREAM_SUBJECTS)


class Publisher:
    """One NATS connection and its JetStream context; any failure surfaces as NatsUnavailable."""

    def __init__(self, options: RelayOptions) -> None:
        self._options = options
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None

    async def _jetstream(self) -> JetStreamContext:
        if self._js is not None and self._nc is not None and self._nc.is_connected:
            return self._js
        await self.close()
        o = self._options
        try:
            # No reconnection inside nats-py: it would buffer publishes while disconnected and
            # send them later, behind the relay's back. The relay reconnects itself, then
            # resends from the oldest pending event. max_reconnect_attempts=1 bounds the first
            # connection to two quick attempts (0 would mean: try forever).
            nc = await nats.connect(
                o.nats_url,
                connect_timeout=max(1, round(o.connect_timeout)),
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,
                error_cb=_quiet,
            )
        except Exception as exc:
            raise NatsUnavailable(f"cannot connect to {o.nats_url}: {_describe(exc)}") from exc
        self._nc = nc
        js = nc.jetstream(timeout=o.publish_timeout)
        try:
            await ensure_stream(js, o.duplicate_window)
        except Exception as exc:
            await self.close()
            raise NatsUnavailable(f"cannot set up stream {STREAM}: {_describe(exc)}") from exc
        self._js = js
        log.info("connected to NATS at %s", o.nats_url)
        return js

    async def connect(self) -> None:
        """Connect (and make sure the stream exists) unless already connected."""
        await self._jetstream()

    async def publish(self, event: Pending) -> bool:
        """Publish one event and wait for JetStream's ack; True if JetStream already had it."""
        js = await self._jetstream()
        try:
            ack = await js.publish(
                event.subject,
                event.payload.encode(),
                stream=STREAM,
                headers={"Nats-Msg-Id": event.event_id},
            )
        except Exception as exc:
            await self.close()
            raise NatsUnavailable(f"publish of {event.event_id} failed: {_describe(exc)}") from exc
        return bool(ack.duplicate)

    async def close(self) -> None:
        """Drop the connection (nothing is buffered: every publish was acknowledged or failed)."""
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await nc.close()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass(slots=True)
class BatchResult:
    """What one batch did: events published (JetStream duplicates among them) and still pending
    (counted up to PENDING_CAP)."""

    published: int
    duplicates: int
    pending: int

    def pending_text(self) -> str:
        """`1,450`, or `10,000+` when the count stopped at PENDING_CAP."""
        return f"{self.pending:,}+" if self.pending >= PENDING_CAP else f"{self.pending:,}"


class Relay:
    """Moves events from the outbox to JetStream; `run()` until stopped, or `drain()` once."""

    def __init__(
        self,
        db: Database,
        options: RelayOptions,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.options = options
        self.publisher = Publisher(options)
        self._clock = clock
        self._last_purge = float("-inf")

    async def publish_batch(self) -> BatchResult | None:
        """Publish the oldest pending events; None when another relay is publishing (PostgreSQL)."""
        if self.db.dialect == "postgresql":
            return await self._batch_in_one_transaction()
        return await self._batch_read_publish_mark()

    async def _publish_all(
        self, events: list[Pending]
    ) -> tuple[list[Pending], int, Exception | None]:
        """Publish in order, stopping at the first failure: (acknowledged, duplicates, failure)."""
        done: list[Pending] = []
        duplicates = 0
        for event in events:
            try:
                duplicates += await self.publisher.publish(event)
            except NatsUnavailable as exc:
                return done, duplicates, exc
            done.append(event)
        return done, duplicates, None

    async def _batch_in_one_transaction(self) -> BatchResult | None:
        async with self.db.transaction(write=True) as conn:
            if not await outbox.take_turn(conn):
                return None
            events = await outbox.pending(conn, self.options.batch_size)
            if not events:
                return BatchResult(0, 0, 0)
            await self.publisher.connect()  # fail before publishing anything if NATS is away
            done, duplicates, failure = await self._publish_all(events)
            # What JetStream acknowledged is marked even when a later event failed: fewer
            # re-publications, which matters past the duplicate window.
            await outbox.mark_published(conn, done, self._clock())
            left = await outbox.count_pending(conn, cap=PENDING_CAP)
        if failure is not None:
            raise failure
        return BatchResult(len(done), duplicates, left)

    async def _batch_read_publish_mark(self) -> BatchResult:
        async with self.db.transaction(write=False) as conn:
            events = await outbox.pending(conn, self.options.batch_size)
        if not events:
            return BatchResult(0, 0, 0)
        await self.publisher.connect()
        done, duplicates, failure = await self._publish_all(events)
        async with self.db.transaction(write=True) as conn:
            await outbox.mark_published(conn, done, self._clock())
            left = await outbox.count_pending(conn, cap=PENDING_CAP)
        if failure is not None:
            raise failure
        return BatchResult(len(done), duplicates, left)

    async def purge(self) -> int:
        """Delete events published longer ago than the retention, in bounded batches."""
        before = self._clock() - self.options.retention
        total = 0
        while True:
            async with self.db.transaction(write=True) as conn:
                n = await outbox.purge_published(conn, before, PURGE_BATCH)
            total += n
            if n < PURGE_BATCH:
                break
        if total:
            log.info("purged %d events published before %s", total, before.isoformat())
        return total

    async def _maybe_purge(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_purge >= PURGE_EVERY_SECONDS:
            await self.purge()
            self._last_purge = loop.time()

    async def _step(self) -> BatchResult | None:
        result = await self.publish_batch()
        if result is not None and result.published:
            log.info(
                "published %d events (%d already in the stream); %s pending",
                result.published,
                result.duplicates,
                result.pending_text(),
            )
        return result

    async def drain(self) -> int:
        """Publish until nothing is pending, then purge; RelayFailed on the first failure."""
        total = 0
        try:
            while True:
                result = await self._step()
                if result is None:
                    log.info("another relay is publishing; nothing to do")
                    return total
                total += result.published
                if result.published < self.options.batch_size:
                    break
            await self.purge()
        except (NatsUnavailable, DatabaseUnavailable) as exc:
            raise RelayFailed(str(exc)) from exc
        finally:
            await self.publisher.close()
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Publish as events arrive until `stop` is set; failures are logged and retried."""
        backoff = BACKOFF_START_SECONDS
        try:
            while not stop.is_set():
                try:
                    result = await self._step()
                    if result is not None and result.published == self.options.batch_size:
                        backoff = BACKOFF_START_SECONDS
                        continue  # more may be waiting: no pause
                    await self._maybe_purge()
                    backoff = BACKOFF_START_SECONDS
                    await _sleep(stop, self.options.poll_interval)
                except (NatsUnavailable, DatabaseUnavailable) as exc:
                    log.warning(
                        "relay failure (%s: %s); retrying in %.1f s",
                        "NATS" if isinstance(exc, NatsUnavailable) else "database",
                        exc,
                        backoff,
                    )
                    await self.publisher.close()
                    await _sleep(stop, backoff)
                    backoff = min(backoff * 2, self.options.max_backoff)
        finally:
            await self.publisher.close()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def pending_count(db: Database) -> int:
    """Events waiting for publication (for progress and health output)."""
    async with db.transaction(write=False) as conn:
        return await outbox.count_pending(conn)
