"""COPY's text form (`patron.db.copy_text`): what it writes, and what PostgreSQL reads back."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from patron.db.copy_text import encode, text_field, text_line
from patron.db.driver import JsonText, create_database
from tests.conftest import PG_ADMIN_URL

AT = datetime(2026, 12, 7, 10, 30, 1, 250000, tzinfo=UTC)

TRICKY = [
    "plain",
    "back\\slash",
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "\\N",
    "",
    "ünïcödé ✓ 名前",
]


def test_plain_rows_are_fields_joined_by_tabs() -> None:
    row = ("acme", 7, None, JsonText('{"a":1}'), AT, date(2026, 1, 31))
    assert text_line(row) == (
        'acme\t7\t\\N\t{"a":1}\t2026-12-07 10:30:01.250000+00:00\t2026-01-31\n'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("back\\slash", "back\\\\slash"),
        ("tab\there", "tab\\there"),
        ("new\nline", "new\\nline"),
        ("carriage\rreturn", "carriage\\rreturn"),
        ("\\N", "\\\\N"),  # the text, not NULL
        (None, "\\N"),
        (True, "True"),
        (12, "12"),
    ],
)
def test_values_that_would_be_misread_are_escaped(value: Any, text: str) -> None:
    assert text_field(value) == text
    # The row takes the careful way as soon as one value needs it.
    assert text_line(("x", value)) == f"x\t{text}\n"


def test_what_text_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        text_line(("a\x00b",))
    with pytest.raises(TypeError, match="dict"):
        text_field({"a": 1})
    # Not turned into Python's own spelling of the value, even in a row needing no escapes.
    with pytest.raises(TypeError, match="dict"):
        text_line(("plain", {"a": 1}))


@pytest.mark.skipif(PG_ADMIN_URL is None, reason="needs PostgreSQL")
def test_postgresql_reads_back_every_value_as_it_was() -> None:
    assert PG_ADMIN_URL is not None
    rows = [
        (
            n,
            value,
            JsonText(orjson.dumps({"name": value, "n": n}).decode()),
            AT + timedelta(days=n),
            AT.astimezone(timezone(timedelta(hours=5, minutes=30))),
            None if n % 2 else n,
        )
        for n, value in enumerate(TRICKY)
    ]

    async def round_trip() -> list[tuple[Any, ...]]:
        db = create_database(PG_ADMIN_URL, pool_size=1)
        await db.open()
        try:
            async with db.transaction(write=True) as conn:
                await conn.execute(
                    "CREATE TEMPORARY TABLE copied (n integer, t text, j jsonb,"
                    " at timestamptz, local_at timestamptz, maybe bigint) ON COMMIT DROP"
                )
                await conn.copy_text(
                    "copied", ("n", "t", "j", "at", "local_at", "maybe"), encode(rows)
                )
                found = await conn.fetch("SELECT * FROM copied ORDER BY n")
                return [tuple(r.values()) for r in found]  # type: ignore[attr-defined]
        finally:
            await db.close()

    found = asyncio.run(round_trip())
    assert found == [(n, t, orjson.loads(str(j)), at, local, m) for n, t, j, at, local, m in rows]
