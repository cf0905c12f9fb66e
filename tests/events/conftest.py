"""Fixtures of the event tests: the machine's NATS server (the shared wipe empties the outbox)."""

from __future__ import annotations

import os
import socket

import pytest

from tests.events.support import NATS_HOST, NATS_PORT, NATS_URL


def _nats_listening() -> bool:
    try:
        with socket.create_connection((NATS_HOST, NATS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The real NATS server; in CI (PATRON_TEST_POSTGRES_URL set) its absence is a failure."""
    if _nats_listening():
        return NATS_URL
    if os.environ.get("PATRON_TEST_POSTGRES_URL"):
        pytest.fail(f"no NATS server on {NATS_HOST}:{NATS_PORT}: .ci/run starts one")
    pytest.skip(
        f"no NATS server on {NATS_HOST}:{NATS_PORT}: start `nats-server -js` "
        "(or run .ci/run) to run the relay tests"
    )
