"""communication consent: a state per customer, channel and priority; org defaults; provenance

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-06 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("priority", sa.String(5), nullable=False),
        sa.Column("type", sa.String(6), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "customer_id", "channel", "priority", name=op.f("pk_subscriptions")
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id"],
            ["customers.org_id", "customers.id"],
            name=op.f("fk_subscriptions_org_id_customer_id_customers"),
        ),
    )
    # Existing orgs keep the default of SPEC 10.2: everyone is opted in until they say otherwise.
    with op.batch_alter_table("orgs") as batch:
        batch.add_column(
            sa.Column("subscription_trans", sa.String(6), nullable=False, server_default="OPTIN")
        )
        batch.add_column(
            sa.Column("subscription_bulk", sa.String(6), nullable=False, server_default="OPTIN")
        )
    with op.batch_alter_table("customer_history") as batch:
        batch.add_column(sa.Column("context", Json, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_history") as batch:
        batch.drop_column("context")
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("subscription_bulk")
        batch.drop_column("subscription_trans")
    op.drop_table("subscriptions")
