"""A concurrent writer takes an identifier mid-batch: only the line that lost the race is refused."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import orjson
import pytest
from click.testing import Result
from starlette.testclient import TestClient

from patron.customers import profiles_doc
from patron.customers.model import Actor, Profile
from tests.bulk.support import cli as patron
from tests.bulk.support import count, customer_body, make_org, rejects, write_jsonl


async def _hold_identifier(url: str, org: str, source: str, release: threading.Event) -> None:
    """Insert a customer holding line 2's mobile in `source` as patron's writers store one
    (customer row with its profile, owner row, identifier), and commit only once `release` is set."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            now = datetime.now(UTC)
            profile = Profile(source, "", created_at=now, created_by=Actor("t"))
            await conn.execute(
                "INSERT INTO customers (org_id, id, version, loyalty_type, extended_fields,"
                " created_at, modified_at, profiles)"
                " VALUES ($1, 900000001, 1, 'non_loyalty', '{}', $2, $2, $3::jsonb)",
                org,
                now,
                orjson.dumps([profiles_doc.entry(profile)]).decode(),
            )
            await conn.execute(
                "INSERT INTO identifier_owners (org_id, type, value, customer_id)"
                " VALUES ($1, 'mobile', '919800000002', 900000001)",
                org,
            )
            await conn.execute(
                "INSERT INTO identifiers (org_id, source, account_id, type, value, customer_id,"
                " position) VALUES ($1, $2, '', 'mobile', '919800000002', 900000001, 0)",
                org,
                source,
            )
            await asyncio.to_thread(release.wait)
    finally:
        await conn.close()


@pytest.mark.postgres_only
@pytest.mark.parametrize(("source", "code"), [("INSTORE", 8008), ("ECOMMERCE", 8053)])
def test_a_unique_key_refusal_retries_the_batch_line_by_line(
    client: TestClient, database_url: str, backend: str, tmp_path: Path, source: str, code: int
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: no other writer can slip into a batch")
    org, _ = make_org(client)
    file = write_jsonl(tmp_path / "race.jsonl", [customer_body(n) for n in (1, 2, 3)])
    release = threading.Event()
    holder = threading.Thread(
        target=asyncio.run, args=(_hold_identifier(database_url, org, source, release),)
    )
    holder.start()
    time.sleep(0.5)  # the competing row is in, uncommitted: the batch's holders read misses it
    outcome: list[Result] = []
    importer = threading.Thread(
        target=lambda: outcome.append(patron(database_url, "import", str(file), "--org", org))
    )
    importer.start()
    time.sleep(1.0)  # the batch's COPY now waits on the competing row's key
    release.set()
    holder.join()
    importer.join()

    [result] = outcome
    assert result.exit_code == 1, result.output
    [refused] = rejects(tmp_path / "race.jsonl.rejects.jsonl")
    assert refused["line"] == 2
    # The line, run alone again, reads the winner's rows: refused as the API would refuse it.
    assert [e["code"] for e in refused["errors"]] == [code]
    assert refused["status"] == 409
    assert count(client, "customers", org) == 3  # lines 1 and 3, and the competing writer's
    assert count(client, "outbox", org) == 2
