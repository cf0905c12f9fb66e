"""Foreign keys checked per batch: an import's COPY holds and checks the rows its records refer to
outside the batch, and turns PostgreSQL's per-row checks off only for its own COPY statements."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from starlette.testclient import TestClient

from patron.bulk import batch_writes
from patron.bulk.batch_writes import OUTSIDE_REFERENCES, CopyText, checks_per_batch
from patron.db.copy_text import encode
from patron.db.driver import Connection
from patron.db.tables import CUSTOMER_ROW_TABLES, metadata
from patron.orgs.model import OrgId
from tests.bulk.support import make_org
from tests.conftest import run

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class _RolledBack(Exception):
    """Raised at the end of a check so that its transaction leaves nothing behind."""


def _in_rollback(client: TestClient, check: Callable[[Connection], Awaitable[None]]) -> None:
    async def go(conn: Connection) -> None:
        await check(conn)
        raise _RolledBack

    with pytest.raises(_RolledBack):
        run(client, go, write=True)


def test_outside_references_are_every_table_the_copied_rows_refer_to_beyond_the_batch() -> None:
    copied = {*CUSTOMER_ROW_TABLES, "outbox"}
    referred = {
        fk.referred_table.name
        for table in copied
        for fk in metadata.tables[table].foreign_key_constraints
    }
    assert referred - copied == OUTSIDE_REFERENCES


def test_checks_per_batch_only_on_postgresql_with_the_right_and_no_triggers_of_ones_own(
    client: TestClient, backend: str
) -> None:
    async def plain(conn: Connection) -> None:
        assert await checks_per_batch(conn) is (backend == "postgresql")

    run(client, plain)
    if backend != "postgresql":
        return

    async def with_a_trigger(conn: Connection) -> None:
        await conn.execute(
            "CREATE FUNCTION pg_temp.audit() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RETURN NEW; END $$"
        )
        await conn.execute(
            "CREATE TRIGGER audit_identifiers AFTER INSERT ON identifiers"
            " FOR EACH ROW EXECUTE FUNCTION pg_temp.audit()"
        )
        assert await checks_per_batch(conn) is False

    _in_rollback(client, with_a_trigger)

    async def without_the_right(conn: Connection) -> None:
        role = f"patron_test_plain_{uuid.uuid4().hex[:8]}"  # roles belong to the whole server
        await conn.execute(f"CREATE ROLE {role} NOLOGIN")
        await conn.execute(f"SET LOCAL ROLE {role}")
        assert await checks_per_batch(conn) is False

    _in_rollback(client, without_the_right)

    async def granted(conn: Connection) -> None:
        role = f"patron_test_granted_{uuid.uuid4().hex[:8]}"
        await conn.execute(f"CREATE ROLE {role} NOLOGIN")
        await conn.execute(f"GRANT SET ON PARAMETER session_replication_role TO {role}")
        await conn.execute(f"SET LOCAL ROLE {role}")
        assert await checks_per_batch(conn) is True
        await conn.execute("SET LOCAL session_replication_role = replica")

    _in_rollback(client, granted)


def _batch(org: str, customer_id: int, *, owner_of: int, tier: tuple[int, int]) -> CopyText:
    """One customer's records, by hand: its row, an identifier owner naming `owner_of`, and an
    enrolment in `tier`."""
    rows: dict[str, list[tuple[Any, ...]]] = {
        "customers": [(org, customer_id, 1, "loyalty", "{}", NOW, NOW, "[]")],
        "identifier_owners": [(org, "mobile", f"9198{customer_id:08d}", owner_of)],
        "enrolments": [(org, customer_id, tier[0], tier[1], None, NOW)],
    }
    return CopyText({table: encode(r) for table, r in rows.items()}, [], [tier])


@pytest.fixture
def pg_org(client: TestClient, backend: str) -> OrgId:
    """A fresh org, on PostgreSQL only: the per-row checks are PostgreSQL's."""
    if backend != "postgresql":
        pytest.skip("the per-row checks are PostgreSQL's")
    code, _ = make_org(client)
    return OrgId(code)


@pytest.mark.postgres_only
def test_a_batch_is_copied_with_the_per_row_checks_off_and_only_its_copy(
    client: TestClient, pg_org: OrgId
) -> None:
    org = pg_org
    tier = (1016, 2)  # ACME's Gold tier

    async def check(conn: Connection) -> None:
        # An owner row naming a customer that does not exist: only a per-row check can see
        # it, so it being stored shows the checks were off during the COPY.
        await batch_writes.copy(
            conn, org, _batch(org, 990000001, owner_of=990000999, tier=tier), NOW, per_batch=True
        )
        assert await conn.fetchval("SELECT current_setting('session_replication_role')") == (
            "origin"
        )
        assert (
            await conn.fetchval("SELECT count(*) FROM identifier_owners WHERE org_id = $1", org)
            == 1
        )

    _in_rollback(client, check)

    async def checked(conn: Connection) -> None:
        await batch_writes.copy(
            conn, org, _batch(org, 990000002, owner_of=990000999, tier=tier), NOW
        )

    with pytest.raises(asyncpg.ForeignKeyViolationError):
        run(client, checked, write=True)


@pytest.mark.postgres_only
def test_a_batch_naming_a_tier_that_is_missing_keeps_the_per_row_checks(
    client: TestClient, pg_org: OrgId
) -> None:
    org = pg_org

    async def go(conn: Connection) -> None:
        await batch_writes.copy(
            conn,
            org,
            _batch(org, 990000003, owner_of=990000003, tier=(1016, 99)),
            NOW,
            per_batch=True,
        )

    with pytest.raises(asyncpg.ForeignKeyViolationError, match="tiers"):
        run(client, go, write=True)


def test_a_batch_encoded_in_parts_joins_into_one_text_in_table_order() -> None:
    first = CopyText({"customers": b"c1\n", "identifiers": b"i1\n"}, ["e1"], [(1016, 2)])
    second = CopyText({"enrolments": b"n2\n", "customers": b"c2\n"}, ["e2", "e3"], [(1016, 1)])
    third = CopyText({"identifiers": b"i3\n"}, [], [(1016, 2)])

    joined = batch_writes.joined([first, second, third])

    assert list(joined.tables.items()) == [
        ("customers", b"c1\nc2\n"),
        ("identifiers", b"i1\ni3\n"),
        ("enrolments", b"n2\n"),
    ]
    assert joined.events == ["e1", "e2", "e3"]
    assert joined.tiers == [(1016, 1), (1016, 2)]
