"""Credits written straight into the points ledger, for balances no request could make.

The API only credits points that expire in the future; a credit that has already expired (or
thousands of them) is written here as the API would have written it, in the app's own database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.testclient import TestClient

from patron.db.driver import Connection
from tests.conftest import run

FIRST_VERSION = 1_000_000
"""Versions of the credits written here: far above any the customer's own updates reach."""


def credit(
    client: TestClient,
    customer_id: int,
    program_id: int,
    amounts: list[tuple[int, datetime | None]],
    *,
    org_id: str = "acme",
) -> None:
    """Credit each (points, expiry) to an enrolled customer, one ledger row per credit."""
    now = datetime.now(UTC)
    rows = [
        (org_id, customer_id, FIRST_VERSION + i, program_id, points, expires, now, "test-credit")
        for i, (points, expires) in enumerate(amounts)
    ]

    async def write(conn: Connection) -> None:
        await conn.executemany(
            "INSERT INTO points_ledger (org_id, customer_id, version, program_id, points,"
            " expires_at, credited_at, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            rows,
        )

    run(client, write, write=True)
