"""The relay against the real NATS server on 127.0.0.1:4222: publish, outage, catch-up, no loss,
no duplicates.

The PATRON stream is shared with everything else on the machine: a test never deletes or purges
it, reads only what was stored after the sequence it captured first, and only its own org's
subjects (each test has a fresh org).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import pytest
from starlette.testclient import TestClient

from patron.db.driver import Connection, create_database
from patron.events.relay import Relay, RelayFailed
from tests.builders import lookup_params, profile, register, update
from tests.conftest import run
from tests.events.support import (
    FAST,
    NATS_HOST,
    NATS_PORT,
    Org,
    RelayThread,
    drain,
    new_org,
    outbox,
    pending,
    read_stream,
    stream_position,
)
from tests.integrity.tcp_proxy import tcp_proxy
from tests.live import free_port, wait_until


def write_some(client: TestClient, org: Org, first: int, count: int) -> None:
    """Register `count` customers and update each once: 2 x `count` events."""
    for n in range(first, first + count):
        mobile = f"91988800{n:04d}"
        register(client, profile(mobile=mobile), auth=org.auth)
        response = update(
            client,
            {"profiles": [{"source": "INSTORE", "firstName": f"N{n}"}]},
            lookup_params(mobile),
            auth=org.auth,
        )
        assert response.status_code == 200, response.text


def assert_stream_matches_outbox(client: TestClient, org: Org, after: int) -> None:
    """The org's messages are its outbox events, each once, in outbox order, byte for byte."""
    rows = outbox(client, org.code)
    received = read_stream(org.code, after)
    ids = [m.msg_id for m in received]
    assert not [i for i, n in Counter(ids).items() if n > 1], "duplicate event ids in the stream"
    assert ids == [r["event_id"] for r in rows]
    assert [m.subject for m in received] == [r["subject"] for r in rows]
    assert [m.payload for m in received] == [r["payload"] for r in rows]
    assert all(r["published_at"] is not None for r in rows)


def test_relay_publishes_every_event_in_order_with_its_id(
    client: TestClient, database_url: str, nats_url: str
) -> None:
    org = new_org(client)
    after = stream_position()
    write_some(client, org, 0, 3)
    register(
        client,
        profile(mobile="919888009999"),
        auth=org.auth,
        loyaltyProgramEnrollments=[{"programId": 1016, "tierNumber": 1, "loyaltyPoints": 10}],
    )
    assert pending(client) == 9
    # A small batch size makes the relay go through several batches.
    assert drain(database_url, nats_url=nats_url, batch_size=4) == 9
    assert pending(client) == 0
    assert_stream_matches_outbox(client, org, after)
    types = [m.subject.rsplit(".", 2)[-2:] for m in read_stream(org.code, after)]
    assert types[-3:] == [
        ["customer", "registered"],
        ["customer", "enrolled"],
        ["customer", "points_credited"],
    ]


def test_outage_outbox_grows_then_relay_catches_up_without_loss_or_duplicates(
    client: TestClient, database_url: str, nats_url: str
) -> None:
    org = new_org(client)
    after = stream_position()
    with (
        tcp_proxy((NATS_HOST, NATS_PORT)) as proxy,
        RelayThread(database_url, nats_url=f"nats://127.0.0.1:{proxy.port}"),
    ):
        write_some(client, org, 0, 2)
        wait_until(lambda: pending(client) == 0, timeout=15)
        published_before = {r["event_id"] for r in outbox(client, org.code)}

        proxy.cut()  # NATS is gone: writes go on, the outbox grows, nothing is marked sent
        write_some(client, org, 2, 3)
        assert pending(client) == 6
        # Long enough for several failed attempts of the relay (back-off up to 0.4 s).
        asyncio.run(asyncio.sleep(1.5))
        assert pending(client) == 6
        marked = {r["event_id"] for r in outbox(client, org.code) if r["published_at"]}
        assert marked == published_before

        proxy.restore()  # NATS is back: the relay catches up by itself
        wait_until(lambda: pending(client) == 0, timeout=20)
    assert len(outbox(client, org.code)) == 10
    assert_stream_matches_outbox(client, org, after)


def test_republishing_after_a_crash_before_marking_adds_no_duplicate(
    client: TestClient, database_url: str, nats_url: str
) -> None:
    org = new_org(client)
    after = stream_position()
    write_some(client, org, 0, 3)
    assert drain(database_url, nats_url=nats_url) == 6
    rows = outbox(client, org.code)

    # As if the relay died after JetStream's ack but before its commit: published, not marked.
    async def forget(conn: Connection) -> None:
        for r in rows[1:4]:
            await conn.execute(
                "UPDATE outbox SET published_at = NULL WHERE org_id = $1 AND id = $2",
                org.code,
                r["id"],
            )

    run(client, forget, write=True)
    assert pending(client) == 3

    async def again() -> tuple[int, int]:
        db = create_database(database_url)
        await db.open()
        relay = Relay(db, FAST)
        try:
            result = await relay.publish_batch()
            assert result is not None
            return result.published, result.duplicates
        finally:
            await relay.publisher.close()
            await db.close()

    assert asyncio.run(again()) == (3, 3)  # JetStream recognised every Nats-Msg-Id
    assert pending(client) == 0
    assert_stream_matches_outbox(client, org, after)


def test_once_fails_and_marks_nothing_when_nats_is_unreachable(
    client: TestClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    org = new_org(client)
    write_some(client, org, 0, 1)
    with pytest.raises(RelayFailed, match="cannot connect"):
        drain(database_url, nats_url=f"nats://127.0.0.1:{free_port()}")
    assert pending(client) == 2


def test_running_relay_logs_failures_and_recovers(
    client: TestClient, database_url: str, nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="patron.relay")
    org = new_org(client)
    after = stream_position()
    with tcp_proxy((NATS_HOST, NATS_PORT)) as proxy:
        proxy.cut()  # down from the start
        write_some(client, org, 0, 1)
        with RelayThread(database_url, nats_url=f"nats://127.0.0.1:{proxy.port}"):
            wait_until(lambda: "relay failure (NATS" in caplog.text, timeout=10)
            assert pending(client) == 2
            proxy.restore()
            wait_until(lambda: pending(client) == 0, timeout=15)
    assert "published 2 events" in caplog.text
    assert_stream_matches_outbox(client, org, after)


def test_two_relays_publish_each_event_once_in_order(
    client: TestClient, database_url: str, backend: str, nats_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("several relays share one database on PostgreSQL only (SQLite: one writer)")
    org = new_org(client)
    after = stream_position()
    write_some(client, org, 0, 10)

    # Two relays at once, as two `patron relay` processes: one publishes at a time.
    with RelayThread(database_url, batch_size=3), RelayThread(database_url, batch_size=3):
        wait_until(lambda: pending(client) == 0, timeout=20)
    assert_stream_matches_outbox(client, org, after)
