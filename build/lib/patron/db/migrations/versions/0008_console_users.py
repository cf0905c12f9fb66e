"""console users: staff who sign in to the member-care console; actor types of 20 characters

Changes a console user makes are attributed as `CONSOLE_USER`, longer than the 10 characters
the actor-type columns had.

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


_ACTOR_TYPE_COLUMNS = (
    ("profiles", "created_by_type"),
    ("profiles", "modified_by_type"),
    ("customer_history", "actor_type"),
)


def _actor_types(old: int, new: int) -> None:
    for table, column in _ACTOR_TYPE_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                existing_type=sa.String(length=old),
                type_=sa.String(length=new),
                existing_nullable=False,
            )


def upgrade() -> None:
    _actor_types(10, 20)
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
    _actor_types(20, 10)
