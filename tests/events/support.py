"""Helpers of the event tests: fresh orgs, outbox reads, the stream as a subscriber sees it, and
a relay running in a thread of its own (as `patron relay` runs in a process of its own)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import nats
import nats.errors
import orjson
from nats.js.api import ConsumerConfig, DeliverPolicy
from starlette.testclient import TestClient

from patron.customers.events import STREAM
from patron.db.driver import Connection, create_database
from patron.events.relay import Relay, RelayOptions, ensure_stream
from tests.conftest import ADMIN, acme_doc, basic, new_org_code, run

NATS_HOST = "127.0.0.1"
NATS_PORT = 4222
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"

FAST = RelayOptions(
    nats_url=NATS_URL,
    batch_size=50,
    poll_interval=0.05,
    retention=timedelta(days=7),
    publish_timeout=1.0,
    connect_timeout=1.0,
    max_backoff=0.4,
)
"""Relay options that keep tests quick: short polls, short back-off."""


@dataclass(frozen=True, slots=True)
class Org:
    """A fresh org of its own (so its subjects are the test's alone on the shared stream)."""

    code: str
    auth: dict[str, str]


def new_org(client: TestClient) -> Org:
    """Apply a copy of ACME under a new code, with till and OAuth key of its own."""
    code = new_org_code("evt")
    doc = acme_doc(
        tills=[{"code": f"{code}.till", "password": "s3cret-pass"}],
        oauthClients=[],
    )
    response = client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN)
    assert response.status_code == 200, response.text
    return Org(code, basic(f"{code}.till"))


COLUMNS = ("org_id", "id", "event_id", "subject", "payload", "created_at", "published_at")


def outbox(client: TestClient, org: str | None = None) -> list[dict[str, Any]]:
    """Outbox rows (of one org, or all), in id order, with the payload parsed."""

    async def q(conn: Connection) -> list[dict[str, Any]]:
        where = "" if org is None else " WHERE org_id = $1"
        rows = await conn.fetch(
            f"SELECT {', '.join(COLUMNS)} FROM outbox{where} ORDER BY id",
            *(() if org is None else (org,)),
        )
        return [{**{k: r[k] for k in COLUMNS}, "body": orjson.loads(r["payload"])} for r in rows]

    return run(client, q)


def pending(client: TestClient) -> int:
    """Events not yet marked published."""

    async def q(conn: Connection) -> int:
        return int(await conn.fetchval("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"))

    return run(client, q)


@dataclass(frozen=True, slots=True)
class Received:
    """One message of the stream, as a subscriber gets it."""

    seq: int
    subject: str
    msg_id: str | None
    payload: str


async def _stream_last_seq() -> int:
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        await ensure_stream(js, FAST.duplicate_window)
        info = await js.stream_info(STREAM)
        return int(info.state.last_seq)
    finally:
        await nc.close()


def stream_position() -> int:
    """The stream's last sequence now: a test reads only what comes after it."""
    return asyncio.run(_stream_last_seq())


async def _read(org_code: str, after: int) -> list[Received]:
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(
            f"patron.{org_code}.>",
            stream=STREAM,
            ordered_consumer=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1
            ),
        )
        received: list[Received] = []
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except nats.errors.TimeoutError:
                break  # nothing (more) for this org
            received.append(
                Received(
                    msg.metadata.sequence.stream,
                    msg.subject,
                    (msg.headers or {}).get("Nats-Msg-Id"),
                    msg.data.decode(),
                )
            )
            if msg.metadata.num_pending == 0:
                break
        await sub.unsubscribe()
        return received
    finally:
        await nc.close()


def read_stream(org_code: str, after: int) -> list[Received]:
    """Every message of the org's subjects stored after sequence `after`, in stream order."""
    return asyncio.run(_read(org_code, after))


def drain(database_url: str, **options: Any) -> int:
    """`patron relay --once` in-process: publish everything pending; returns how many."""

    async def go() -> int:
        db = create_database(database_url)
        await db.open()
        try:
            return await Relay(db, replace(FAST, **options)).drain()
        finally:
            await db.close()

    return asyncio.run(go())


class RelayThread:
    """A running relay (`Relay.run`) on its own event loop and database connections."""

    def __init__(self, database_url: str, **options: Any) -> None:
        self._url = database_url
        self._options = replace(FAST, **options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="relay", daemon=True)

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        db = create_database(self._url)
        await db.open()
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await Relay(db, self._options).run(self._stop)
        finally:
            await db.close()

    def __enter__(self) -> RelayThread:
        self._thread.start()
        assert self._ready.wait(10), "the relay did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)
        assert not self._thread.is_alive(), "the relay did not stop"
