"""The per-process org configuration cache: one version check at a time per org."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from patron.db.driver import Connection, Database
from patron.orgs import repository
from patron.orgs.cache import OrgConfigCache
from patron.orgs.model import OrgConfig, OrgId

ACME = OrgId("acme")


@pytest.fixture
def version_checks(monkeypatch: pytest.MonkeyPatch) -> list[OrgId]:
    """The org of every version check made through the repository (which still runs it)."""
    checks: list[OrgId] = []
    real = repository.config_version

    async def counted(conn: Connection, org_id: OrgId) -> int | None:
        checks.append(org_id)
        return await real(conn, org_id)

    monkeypatch.setattr(repository, "config_version", counted)
    return checks


def test_requests_arriving_together_after_the_ttl_share_one_version_check(
    client: TestClient, version_checks: list[OrgId]
) -> None:
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    now = [0.0]
    cache = OrgConfigCache(db, ttl_seconds=1.0, clock=lambda: now[0])

    async def scenario() -> tuple[OrgConfig | None, list[OrgConfig | None]]:
        first = await cache.get(ACME)
        now[0] = 5.0  # the copy is past its TTL: the next requests must check its version
        found = await asyncio.gather(*(cache.get(ACME) for _ in range(20)))
        return first, list(found)

    assert client.portal is not None
    first, found = client.portal.call(scenario)
    assert first is not None and first.org_id == ACME
    assert version_checks == [ACME]
    assert all(config is first for config in found)

    # Checked: the copy is trusted again for a TTL, and the next expiry makes one more check.
    assert client.portal.call(cache.get, ACME) is first
    assert version_checks == [ACME]
    now[0] = 10.0
    assert client.portal.call(cache.get, ACME) is first
    assert version_checks == [ACME, ACME]


def test_an_org_written_during_a_check_is_not_overwritten_by_what_the_check_read(
    client: TestClient,
) -> None:
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    cache = OrgConfigCache(db, ttl_seconds=60.0)

    async def scenario() -> tuple[OrgConfig | None, OrgConfig | None]:
        loading = asyncio.ensure_future(cache.get(ACME))
        await asyncio.sleep(0)  # the load has started
        cache.invalidate(ACME)  # e.g. this process applied a new document meanwhile
        read = await loading
        return read, await cache.get(ACME)

    assert client.portal is not None
    read, again = client.portal.call(scenario)
    assert read is not None and again is not None
    assert again is not read  # loaded afresh, not the copy read before the write


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for `condition`, letting the background check run; fail after 10 s."""
    async with asyncio.timeout(10):
        for _ in iter(condition, True):  # polled: the check sets no event a test could await
            await asyncio.sleep(0.005)


def test_past_half_its_ttl_a_copy_is_served_at_once_and_checked_in_the_background(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    now = [0.0]
    cache = OrgConfigCache(db, ttl_seconds=1.0, clock=lambda: now[0])
    checks: list[OrgId] = []
    real = repository.config_version

    async def scenario() -> tuple[OrgConfig | None, list[OrgConfig | None]]:
        gate = asyncio.Event()

        async def held(conn: Connection, org_id: OrgId) -> int | None:
            checks.append(org_id)
            await gate.wait()  # the check cannot answer until the requests have been served
            return await real(conn, org_id)

        monkeypatch.setattr(repository, "config_version", held)
        first = await cache.get(ACME)
        now[0] = 0.6  # past half the TTL, still within it
        found = await asyncio.wait_for(
            asyncio.gather(*(cache.get(ACME) for _ in range(20))), timeout=5
        )
        await _until(lambda: bool(checks))
        assert checks == [ACME]  # one check started for all twenty, still unanswered
        gate.set()
        await _until(lambda: not cache._checking)
        return first, list(found)

    assert client.portal is not None
    first, found = client.portal.call(scenario)
    assert first is not None
    assert all(config is first for config in found)
    # The check renewed the copy at 0.6: at 1.05 s (past the TTL from 0, within it from 0.6) the
    # copy is served and no other check starts before half a TTL has passed again.
    now[0] = 1.05
    assert client.portal.call(cache.get, ACME) is first
    assert checks == [ACME]


def test_a_change_seen_by_a_check_made_ahead_of_time_is_served_after_it(
    client: TestClient,
) -> None:
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    now = [0.0]
    cache = OrgConfigCache(db, ttl_seconds=1.0, clock=lambda: now[0])

    async def bump() -> None:
        async with db.transaction(write=True) as conn:
            await conn.execute(
                "UPDATE orgs SET config_version = config_version + 1 WHERE org_id = $1", ACME
            )

    async def scenario() -> tuple[OrgConfig | None, OrgConfig | None, OrgConfig | None]:
        first = await cache.get(ACME)
        await bump()  # another process applied a new document
        now[0] = 0.7
        during = await cache.get(ACME)  # the old copy, at once; the check starts
        await _until(lambda: not cache._checking)
        return first, during, await cache.get(ACME)

    assert client.portal is not None
    first, during, after = client.portal.call(scenario)
    assert first is not None and during is first
    assert after is not None and after is not first
    assert after.version == first.version + 1
