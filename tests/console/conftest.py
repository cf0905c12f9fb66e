"""Fixtures of the console tests: the CARE and OTHER orgs on the session's app."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.console.support import apply_console_orgs


@pytest.fixture
def care(client: TestClient) -> TestClient:
    """The session's app (no customers yet) with the console orgs applied, its cookie jar empty."""
    apply_console_orgs(client)
    client.cookies.clear()
    return client
