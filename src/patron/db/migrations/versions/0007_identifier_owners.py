"""identifier owners: one customer per (type, value) in an org, kept by the database

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 21:00:00.000000

Until now only the per-source key of `identifiers` was a constraint; rule 4 (one customer per
identifier across the org's sources) was a check before the insert, which two concurrent
writers could both pass. `identifier_owners` names the one customer that may hold a (type,
value); its primary key is the rule.

The table is filled from the identifiers already stored. Where two or more customers already
hold one (type, value) (written before this constraint existed), nothing is deleted: the lowest
customer id becomes the owner, every holder keeps its rows, and each such value is reported on
the logger `patron.migrations` (org, type, value, customer ids) for an operator to resolve with
changeIdentifier (docs/operations.md).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("patron.migrations")


def upgrade() -> None:
    op.create_table(
        "identifier_owners",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=150), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id"],
            ["customers.org_id", "customers.id"],
            name=op.f("fk_identifier_owners_org_id_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("org_id", "type", "value", name=op.f("pk_identifier_owners")),
    )
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "INSERT INTO identifier_owners (org_id, type, value, customer_id)"
            " SELECT org_id, type, value, MIN(customer_id) FROM identifiers"
            " GROUP BY org_id, type, value"
        )
    )
    report_duplicates(conn)


def report_duplicates(conn: sa.Connection) -> int:
    """Log every (type, value) held by more than one customer of an org; returns how many."""
    rows = conn.execute(
        sa.text(
            "SELECT i.org_id, i.type, i.value, i.customer_id FROM identifiers i"
            " JOIN identifier_owners o ON o.org_id = i.org_id AND o.type = i.type"
            " AND o.value = i.value WHERE i.customer_id <> o.customer_id"
            " UNION SELECT o.org_id, o.type, o.value, o.customer_id FROM identifier_owners o"
            " WHERE EXISTS (SELECT 1 FROM identifiers i WHERE i.org_id = o.org_id"
            " AND i.type = o.type AND i.value = o.value AND i.customer_id <> o.customer_id)"
        )
    )
    holders: dict[tuple[str, str, str], set[int]] = {}
    for org_id, type_, value, customer_id in rows:
        holders.setdefault((org_id, type_, value), set()).add(int(customer_id))
    for (org_id, type_, value), ids in sorted(holders.items()):
        customers = sorted(ids)
        log.warning(
            "an identifier is held by several customers; the lowest id owns it, every row was kept",
            extra={
                "fields": {
                    "org": org_id,
                    "type": type_,
                    "value": value,
                    "escaped": ascii(value),
                    "customers": customers,
                    "owner": customers[0],
                }
            },
        )
    return len(holders)


def downgrade() -> None:
    op.drop_table("identifier_owners")
