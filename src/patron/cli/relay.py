"""`patron relay`: publish the outbox's change events to NATS JetStream (docs/events.md).

Runs until SIGINT or SIGTERM (finishing the batch in flight), or with `--once` publishes what is
pending and exits: 0 when the outbox was drained, 1 when NATS or the database failed. Does not
migrate: run `patron migrate` first.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import asyncpg
import typer

from patron.cli.database_url import DatabaseUrl
from patron.config import Settings
from patron.db.driver import DatabaseUnavailable, create_database, parse_database_url
from patron.observability.logs import configure_logging

if TYPE_CHECKING:
    from patron.events.relay import RelayOptions

# The relay (with the NATS client and the customer modules its events need) is imported when
# the command runs: every other `patron` command, an import's start among them, is spared
# loading it.

log = logging.getLogger("patron.relay")

NatsUrl = Annotated[
    str | None,
    typer.Option("--nats-url", envvar="PATRON_NATS_URL", help="NATS server, nats://HOST:PORT."),
]
BatchSize = Annotated[
    int | None,
    typer.Option("--batch-size", envvar="PATRON_RELAY_BATCH_SIZE", help="Events per batch.", min=1),
]
PollSeconds = Annotated[
    float | None,
    typer.Option(
        "--poll-seconds",
        envvar="PATRON_RELAY_POLL_SECONDS",
        help="Pause before looking again once the outbox is empty.",
    ),
]
RetentionHours = Annotated[
    float | None,
    typer.Option(
        "--retention-hours",
        envvar="PATRON_RELAY_RETENTION_HOURS",
        help="How long published events stay in the outbox.",
    ),
]
Once = Annotated[
    bool,
    typer.Option(
        "--once", help="Publish everything pending, purge, and exit (for cron and tests)."
    ),
]


def options_from(settings: Settings) -> RelayOptions:
    """The relay's options as the settings give them."""
    from patron.events.relay import RelayOptions

    return RelayOptions(
        nats_url=settings.nats_url,
        batch_size=settings.relay_batch_size,
        poll_interval=settings.relay_poll_seconds,
        retention=timedelta(hours=settings.relay_retention_hours),
        publish_timeout=settings.relay_publish_timeout_seconds,
        connect_timeout=settings.db_connect_timeout_seconds,
        max_backoff=settings.relay_max_backoff_seconds,
        duplicate_window=settings.nats_duplicate_window_seconds,
    )


async def _main(settings: Settings, once: bool) -> int:
    from patron.events.relay import Relay, RelayFailed, pending_count

    db = create_database(
        settings.database_url,
        pool_size=2,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        statement_timeout_ms=settings.statement_timeout_ms,
        connect_timeout_s=settings.db_connect_timeout_seconds,
        timeout_s=settings.db_timeout_seconds,
        pooler=settings.database_pooler,
    )
    await db.open()
    try:
        try:
            log.info("%d events pending", await pending_count(db))
        except DatabaseUnavailable as exc:
            log.warning("database unavailable at start (%s); will retry", exc)
        except (sqlite3.OperationalError, asyncpg.UndefinedTableError) as exc:
            log.error("no outbox table (%s): run `patron migrate` first", exc)
            return 2
        relay = Relay(db, options_from(settings))
        if once:
            try:
                total = await relay.drain()
            except RelayFailed as exc:
                log.error("relay stopped: %s", exc)
                return 1
            log.info("drained: %d events published", total)
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("relaying to %s; stop with SIGINT or SIGTERM", settings.nats_url)
        await relay.run(stop)
        log.info("stopped")
        return 0
    finally:
        await db.close()


def relay(
    database_url: DatabaseUrl = None,
    nats_url: NatsUrl = None,
    batch_size: BatchSize = None,
    poll_seconds: PollSeconds = None,
    retention_hours: RetentionHours = None,
    once: Once = False,
) -> None:
    """Publish change events from the outbox to NATS JetStream (stream PATRON, `patron.>`)."""
    given = {
        "database_url": database_url,
        "nats_url": nats_url,
        "relay_batch_size": batch_size,
        "relay_poll_seconds": poll_seconds,
        "relay_retention_hours": retention_hours,
    }
    settings = Settings(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]
    try:
        parse_database_url(settings.database_url)
    except ValueError as exc:
        typer.echo(f"PATRON_DATABASE_URL: {exc}", err=True)
        raise typer.Exit(2) from None
    if not logging.getLogger().handlers:
        # The same JSON lines as the API's workers, so one parser reads both. (Skipped when the
        # host configured logging already, as a test runner does.)
        configure_logging()
    raise typer.Exit(asyncio.run(_main(settings, once)))
