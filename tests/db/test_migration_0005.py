"""Migration 0005 makes stored identifier and channel values canonical (SPEC 5.3), on each backend.

A database is built at 0004 and filled, as an older release would have, with values that are
look-alikes of each other; the upgrade normalises what it can and leaves every collision as it
was, reporting each one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from patron.db.driver import Connection
from patron.db.migrate import upgrade
from tests.conftest import BACKENDS
from tests.db.migrated import database_at, in_database

NOW = datetime(2026, 12, 1, tzinfo=UTC)

# (org, customer, source, identifiers as (type, value), channels as (type, value))
STORED: list[tuple[str, int, str, list[tuple[str, str]], list[tuple[str, str]]]] = [
    (
        "mig",
        1,
        "INSTORE",
        [("externalId", "ab"), ("email", "tom@b\u00fccher.de"), ("cardnumber", "\uff11\uff12")],
        [("email", "Tom@B\u00fccher.de"), ("wechat", "wx1"), ("wechat", "wx\u200b1")],
    ),
    ("mig", 2, "INSTORE", [("externalId", "a\u200bb")], []),  # same source as customer 1's ab
    ("mig", 3, "ECOMMERCE", [("externalId", "cafe\u0301")], []),
    ("mig", 4, "INSTORE", [("externalId", "caf\u00e9")], []),  # another source, another customer
    ("mig", 5, "INSTORE", [("externalId", "x\u200by")], [("wechat", "\ufeffwx5")]),
    ("mig", 5, "ECOMMERCE", [("externalId", "xy")], []),  # one customer in two sources
    ("mig", 6, "INSTORE", [("wechat", "\u5fae\u200b\u4fe1")], []),
    ("mig2", 7, "INSTORE", [("externalId", "a\ufeffb")], []),  # another org may hold ab
]


@pytest.fixture(params=BACKENDS)
def url_at_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to 0004 (the release before canonical values)."""
    with database_at("0004", request.param, tmp_path) as url:
        yield url


async def _fill(conn: Connection) -> None:
    for org in ("mig", "mig2"):
        await conn.execute(
            "INSERT INTO orgs (org_id, name, default_country, strict_fields, config_version,"
            " updated_at) VALUES ($1, $1, 'IN', TRUE, 1, $2)",
            org,
            NOW,
        )
    customers = sorted({(org, cid) for org, cid, *_ in STORED})
    for org, cid in customers:
        await conn.execute(
            "INSERT INTO customers (org_id, id, version, loyalty_type, extended_fields,"
            " created_at, modified_at) VALUES ($1, $2, 1, 'non_loyalty', $3, $4, $4)",
            org,
            cid,
            {},
            NOW,
        )
    for org, cid, source, identifiers, channels in STORED:
        await conn.execute(
            "INSERT INTO profiles (org_id, customer_id, source, account_id, fields, created_at,"
            " created_by, created_by_type, modified_at, modified_by, modified_by_type)"
            " VALUES ($1, $2, $3, '', $4, $5, 't', 'TILL', $5, 't', 'TILL')",
            org,
            cid,
            source,
            {},
            NOW,
        )
        for position, (type_, value) in enumerate(identifiers):
            await conn.execute(
                "INSERT INTO identifiers (org_id, source, account_id, type, value, customer_id,"
                " position) VALUES ($1, $2, '', $3, $4, $5, $6)",
                org,
                source,
                type_,
                value,
                cid,
                position,
            )
        for position, (type_, value) in enumerate(channels):
            await conn.execute(
                "INSERT INTO comm_channels (org_id, customer_id, source, account_id, type, value,"
                " is_primary, verified, meta, position)"
                " VALUES ($1, $2, $3, '', $4, $5, FALSE, FALSE, $6, $7)",
                org,
                cid,
                source,
                type_,
                value,
                {},
                position,
            )


async def _rows(conn: Connection, table: str) -> set[tuple[Any, ...]]:
    rows = await conn.fetch(f"SELECT org_id, customer_id, source, type, value FROM {table}")
    return {tuple(r[k] for k in ("org_id", "customer_id", "source", "type", "value")) for r in rows}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a migration log line carries (`extra={"fields": ...}`)."""
    fields: dict[str, Any] = record.__dict__["fields"]
    return fields


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def migration_log() -> Iterator[list[logging.LogRecord]]:
    """What the migration reports, whatever else configured the `patron` loggers."""
    logger = logging.getLogger("patron.migrations")
    handler = _Records()
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_stored_values_become_canonical_and_collisions_are_left_and_reported(
    url_at_0004: str, migration_log: list[logging.LogRecord]
) -> None:
    in_database(url_at_0004, _fill)
    upgrade(url_at_0004, "0005")

    identifiers = in_database(url_at_0004, lambda c: _rows(c, "identifiers"))
    assert identifiers == {
        ("mig", 1, "INSTORE", "externalId", "ab"),
        ("mig", 1, "INSTORE", "email", "tom@xn--bcher-kva.de"),
        ("mig", 1, "INSTORE", "cardnumber", "12"),
        # left: customer 1 holds ab in INSTORE already
        ("mig", 2, "INSTORE", "externalId", "a\u200bb"),
        # left: customers 3 and 4 would hold caf\u00e9 in two sources
        ("mig", 3, "ECOMMERCE", "externalId", "cafe\u0301"),
        ("mig", 4, "INSTORE", "externalId", "caf\u00e9"),
        ("mig", 5, "INSTORE", "externalId", "xy"),
        ("mig", 5, "ECOMMERCE", "externalId", "xy"),
        ("mig", 6, "INSTORE", "wechat", "\u5fae\u4fe1"),
        ("mig2", 7, "INSTORE", "externalId", "ab"),
    }
    channels = in_database(url_at_0004, lambda c: _rows(c, "comm_channels"))
    assert channels == {
        ("mig", 1, "INSTORE", "email", "tom@xn--bcher-kva.de"),
        # left: the profile holds wx1 already
        ("mig", 1, "INSTORE", "wechat", "wx1"),
        ("mig", 1, "INSTORE", "wechat", "wx\u200b1"),
        ("mig", 5, "INSTORE", "wechat", "wx5"),
    }

    keys = ("table", "org", "type", "value", "customers")
    reported = [
        tuple(_fields(r)[k] for k in keys) for r in migration_log if r.levelno == logging.WARNING
    ]
    assert sorted(reported) == [
        ("comm_channels", "mig", "wechat", "wx1", [1]),
        ("identifiers", "mig", "externalId", "ab", [1, 2]),
        ("identifiers", "mig", "externalId", "caf\u00e9", [3, 4]),
    ]
    collision = next(r for r in migration_log if _fields(r).get("customers") == [3, 4])
    stored = _fields(collision)["stored"]
    assert [(s["customer"], s["source"], s["value"], s["escaped"]) for s in stored] == [
        (3, "ECOMMERCE", "cafe\u0301", "'cafe\\u0301'"),
        (4, "INSTORE", "caf\u00e9", "'caf\\xe9'"),
    ]


def test_a_stored_value_that_is_no_longer_valid_is_left_and_reported(
    url_at_0004: str, migration_log: list[logging.LogRecord]
) -> None:
    async def fill(conn: Connection) -> None:
        await _fill(conn)
        # Invisible characters only: nothing is left of it once they are stripped.
        await conn.execute(
            "INSERT INTO identifiers (org_id, source, account_id, type, value, customer_id,"
            " position) VALUES ('mig', 'INSTORE', '', 'externalId', $1, 6, 5)",
            "\u200b\u200b",
        )

    in_database(url_at_0004, fill)
    upgrade(url_at_0004, "0005")
    identifiers = in_database(url_at_0004, lambda c: _rows(c, "identifiers"))
    assert ("mig", 6, "INSTORE", "externalId", "\u200b\u200b") in identifiers
    invalid = [r for r in migration_log if "no longer valid" in r.getMessage()]
    assert [(_fields(r)["value"], _fields(r)["customers"]) for r in invalid] == [
        ("\u200b\u200b", [6])
    ]


def test_an_empty_database_migrates_with_nothing_to_report(
    url_at_0004: str, migration_log: list[logging.LogRecord]
) -> None:
    upgrade(url_at_0004, "0005")
    assert [_fields(r) for r in migration_log] == [
        {"table": "identifiers", "changed": 0, "collisions": 0},
        {"table": "comm_channels", "changed": 0, "collisions": 0},
    ]
