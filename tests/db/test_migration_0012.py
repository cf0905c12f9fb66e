"""Migration 0012 moves profiles and channels into the customer's row, and back, on each backend.

A database at 0011 is filled as the previous release stored customers (rows in `profiles` and
`comm_channels`); after the upgrade the API reads every profile, name, field, attribution and
channel as before, in order; the downgrade rebuilds the two tables row for row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command

from patron.customers import repository
from patron.db.driver import Connection
from patron.db.migrate import alembic_config, upgrade
from patron.orgs.model import OrgId
from tests.conftest import BACKENDS
from tests.db.migrated import database_at, in_database

CREATED = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
MODIFIED = datetime(2026, 11, 2, tzinfo=UTC)

# (customer, source, account, first name, fields, channels as (type, value, primary, verified, meta))
PROFILES: list[tuple[int, str, str, str | None, dict[str, Any], list[tuple[Any, ...]]]] = [
    (
        1,
        "INSTORE",
        "",
        "Asha",
        {"shoe_size": 9},
        [
            ("email", "b@example.com", True, False, {"optIn": True}),
            ("mobile", "919800000001", True, True, {}),
            ("email", "a@example.com", False, False, {}),
        ],
    ),
    (1, "WECHAT", "wc_main", None, {}, []),
    (2, "INSTORE", "", "Ravi", {}, [("email", "r@example.com", False, True, {})]),
]


@pytest.fixture(params=BACKENDS)
def url_at_0011(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to 0011 (the release with profile tables)."""
    with database_at("0011", request.param, tmp_path) as url:
        yield url


async def _fill(conn: Connection) -> None:
    await conn.execute(
        "INSERT INTO orgs (org_id, name, default_country, strict_fields, config_version,"
        " updated_at) VALUES ('o', 'O', 'IN', TRUE, 1, $1)",
        CREATED,
    )
    for cid in (1, 2, 3):
        await conn.execute(
            "INSERT INTO customers (org_id, id, version, loyalty_type, extended_fields,"
            " created_at, modified_at) VALUES ('o', $1, 2, 'non_loyalty', $2, $3, $3)",
            cid,
            {},
            CREATED,
        )
    for n, (cid, source, account, first, fields, channels) in enumerate(PROFILES):
        await conn.execute(
            "INSERT INTO profiles (org_id, customer_id, source, account_id, first_name, fields,"
            " created_at, created_by, created_by_type, modified_at, modified_by,"
            " modified_by_type) VALUES ('o', $1, $2, $3, $4, $5, $6, 't1', 'TILL', $7, 'ann',"
            " 'CONSOLE_USER')",
            cid,
            source,
            account,
            first,
            fields,
            CREATED.replace(minute=n),  # created in list order
            MODIFIED,
        )
        for position, (type_, value, primary, verified, meta) in enumerate(channels):
            await conn.execute(
                "INSERT INTO comm_channels (org_id, customer_id, source, account_id, type, value,"
                " is_primary, verified, meta, position) VALUES ('o', $1, $2, $3, $4, $5, $6, $7,"
                " $8, $9)",
                cid,
                source,
                account,
                type_,
                value,
                primary,
                verified,
                meta,
                position,
            )


async def _loaded(conn: Connection) -> list[tuple[Any, ...]]:
    out = []
    for cid in (1, 2, 3):
        c = await repository.load(conn, OrgId("o"), cid, now=MODIFIED)
        assert c is not None
        for p in c.profiles.values():
            # JSON true and false, not SQLite's 1 and 0: the details answer them as they are.
            assert all(type(ch.primary) is type(ch.verified) is bool for ch in p.channels)
            out.append(
                (
                    cid,
                    p.source,
                    p.account_id,
                    p.first_name,
                    p.fields,
                    [(ch.type, ch.value, ch.primary, ch.verified, ch.meta) for ch in p.channels],
                    p.created_at == CREATED.replace(minute=len(out)),
                    (p.created_by.code, p.created_by.type) if p.created_by else None,
                    p.modified_at == MODIFIED,
                    (p.modified_by.code, p.modified_by.type) if p.modified_by else None,
                )
            )
    return out


async def _tables(conn: Connection) -> list[tuple[Any, ...]]:
    profiles = await conn.fetch(
        "SELECT customer_id, source, account_id, first_name, created_at, modified_by_type"
        " FROM profiles ORDER BY customer_id, source"
    )
    channels = await conn.fetch(
        "SELECT customer_id, source, type, value, is_primary, verified, position"
        " FROM comm_channels ORDER BY customer_id, source, position"
    )
    return [tuple(r) for r in profiles] + [tuple(r) for r in channels]


def test_profiles_and_channels_move_into_the_row_and_back(url_at_0011: str) -> None:
    in_database(url_at_0011, _fill)
    before = in_database(url_at_0011, _tables)

    upgrade(url_at_0011, "0012")
    attribution = (True, ("t1", "TILL"), True, ("ann", "CONSOLE_USER"))
    expected = [
        (cid, src, acc, first, fields, [tuple(ch) for ch in chans], *attribution)
        for cid, src, acc, first, fields, chans in PROFILES
    ]
    assert in_database(url_at_0011, _loaded) == expected  # customer 3 has no profile

    command.downgrade(alembic_config(url_at_0011), "0011")
    after = in_database(url_at_0011, _tables)
    assert [_comparable(r) for r in after] == [_comparable(r) for r in before]


def _comparable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # SQLite hands back times and booleans as it stored them; compare their meaning.
    return tuple(
        datetime.fromisoformat(v) if isinstance(v, str) and v[:4] == "2026" else v for v in row
    )
