"""canonical identifier and channel values: NFKC, no invisible characters, IDNA email domains

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 20:30:00.000000

Stored values are brought to the form SPEC 5.3 now asks for, with the very functions requests
use (`patron.customers.normalise`), so a lookup finds what is stored. Only values that can change
are read: those with a character outside ASCII (plain ASCII is its own canonical form) and, on
SQLite, email addresses longer than the 150 characters a stored value may have.

Nothing is deleted or merged. When values that were different become one (a look-alike that was
stored twice: `ab` and `a\\u200bb`), every row of that value is left as it was and the collision
is logged (logger `patron.migrations`: org, type, value, customers) for an operator to resolve;
so is a stored value that is no longer valid. docs/operations.md says how to resolve them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import op

from patron.customers.normalise import InvalidValue, channel_value, identifier_value

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("patron.migrations")


# A NamedTuple, not a dataclass: Alembic loads this file outside sys.modules, where dataclasses
# cannot resolve postponed annotations.
class _Row(NamedTuple):
    org_id: str
    customer_id: int
    source: str
    account_id: str
    type: str
    value: str

    @property
    def profile(self) -> tuple[str, int, str, str]:
        return (self.org_id, self.customer_id, self.source, self.account_id)


def _changing(conn: sa.Connection, table: str) -> list[_Row]:
    """Rows whose value may not be canonical: not plain ASCII, or an over-long email."""
    if conn.dialect.name == "postgresql":
        not_ascii = "octet_length(value) <> char_length(value)"
    else:
        not_ascii = "length(CAST(value AS BLOB)) <> length(value)"
    rows = conn.execute(
        sa.text(
            f"SELECT org_id, customer_id, source, account_id, type, value FROM {table}"
            f" WHERE {not_ascii} OR (type = 'email' AND length(value) > 150)"
        )
    )
    return [_Row(*r) for r in rows]


def _holders(conn: sa.Connection, table: str, org_id: str, type_: str, value: str) -> list[_Row]:
    rows = conn.execute(
        sa.text(
            f"SELECT org_id, customer_id, source, account_id, type, value FROM {table}"
            " WHERE org_id = :org AND type = :type AND value = :value"
        ),
        {"org": org_id, "type": type_, "value": value},
    )
    return [_Row(*r) for r in rows]


def _canonical(row: _Row, countries: dict[str, str], table: str) -> str | None:
    normalise = identifier_value if table == "identifiers" else channel_value
    try:
        return normalise(row.type, row.value, countries.get(row.org_id, "IN"))
    except InvalidValue as exc:
        log.warning(
            "a stored value is no longer valid; it was left as it is",
            extra={"fields": _fields(table, row.org_id, row.type, row.value, [row], exc.message)},
        )
        return None


def _fields(
    table: str, org_id: str, type_: str, value: str, rows: list[_Row], why: str
) -> dict[str, Any]:
    return {
        "table": table,
        "org": org_id,
        "type": type_,
        "value": value,
        "customers": sorted({r.customer_id for r in rows}),
        "stored": [
            {
                "customer": r.customer_id,
                "source": r.source,
                "accountId": r.account_id,
                "value": r.value,
                # What the eye cannot tell apart, spelt out: 'a\u200bb'.
                "escaped": ascii(r.value),
            }
            for r in sorted(rows, key=lambda r: (r.customer_id, r.source, r.account_id, r.value))
        ],
        "why": why,
    }


def _collision(table: str, rows: list[_Row]) -> str | None:
    """Why these rows cannot all hold one value, or None when they can."""
    if table == "identifiers":
        if len({r.customer_id for r in rows}) > 1:
            return "different customers would hold one identifier"
        if len({r.profile for r in rows}) < len(rows):
            return "one profile would hold one identifier twice"
        return None
    by_profile: dict[tuple[str, int, str, str], int] = defaultdict(int)
    for r in rows:
        by_profile[r.profile] += 1
    if any(n > 1 for n in by_profile.values()):
        return "one profile would hold one channel twice"
    return None


def _normalise(conn: sa.Connection, table: str, countries: dict[str, str]) -> tuple[int, int]:
    """Bring `table`'s values to their canonical form; (rows changed, collisions left)."""
    groups: dict[tuple[str, str, str], list[_Row]] = defaultdict(list)
    for row in _changing(conn, table):
        value = _canonical(row, countries, table)
        if value is not None and value != row.value:
            groups[(row.org_id, row.type, value)].append(row)
    changed = collisions = 0
    for (org_id, type_, value), rows in sorted(groups.items()):
        # Rows that already hold the canonical value share it with those that will.
        sharing = rows + _holders(conn, table, org_id, type_, value)
        if table == "comm_channels":
            # A channel is one profile's own; only the profiles changing here can collide.
            profiles = {r.profile for r in rows}
            sharing = [r for r in sharing if r.profile in profiles]
        why = _collision(table, sharing)
        if why is not None:
            collisions += 1
            log.warning(
                "look-alike values are one value now; these rows were left as they are",
                extra={"fields": _fields(table, org_id, type_, value, sharing, why)},
            )
            continue
        for row in rows:
            conn.execute(
                sa.text(
                    f"UPDATE {table} SET value = :new WHERE org_id = :org AND customer_id = :cid"
                    " AND source = :source AND account_id = :account AND type = :type"
                    " AND value = :old"
                ),
                {
                    "new": value,
                    "org": row.org_id,
                    "cid": row.customer_id,
                    "source": row.source,
                    "account": row.account_id,
                    "type": row.type,
                    "old": row.value,
                },
            )
            changed += 1
    return changed, collisions


def upgrade() -> None:
    conn = op.get_bind()
    countries = {
        org: country
        for org, country in conn.execute(sa.text("SELECT org_id, default_country FROM orgs"))
    }
    for table in ("identifiers", "comm_channels"):
        changed, collisions = _normalise(conn, table, countries)
        log.info(
            "stored values made canonical",
            extra={"fields": {"table": table, "changed": changed, "collisions": collisions}},
        )


def downgrade() -> None:
    # The canonical values are valid in the previous release too: nothing to undo.
    pass
