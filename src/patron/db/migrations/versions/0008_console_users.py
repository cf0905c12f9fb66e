"""console users: staff who sign in to the member-care console

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-06 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("login", sa.String(length=128), nullable=False),
        sa.Column("login_key", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.org_id"], name=op.f("fk_console_users_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("org_id", "login", name=op.f("pk_console_users")),
    )
    op.create_index(
        op.f("ix_console_users_login_key"), "console_users", ["login_key"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_console_users_login_key"), table_name="console_users")
    op.drop_table("console_users")
