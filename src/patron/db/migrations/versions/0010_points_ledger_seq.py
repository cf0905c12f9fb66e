"""points ledger: a write may credit one program more than once (an imported ledger)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An API write credits a program once (seq 0); an imported line carries a customer's whole
    # ledger, several credits of one program with their own expiries, in one write.
    with op.batch_alter_table("points_ledger", recreate="auto") as batch_op:
        batch_op.add_column(
            sa.Column("seq", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.drop_constraint("pk_points_ledger", type_="primary")
        batch_op.create_primary_key(
            "pk_points_ledger", ["org_id", "customer_id", "version", "program_id", "seq"]
        )


def downgrade() -> None:
    with op.batch_alter_table("points_ledger", recreate="auto") as batch_op:
        batch_op.drop_constraint("pk_points_ledger", type_="primary")
        batch_op.create_primary_key(
            "pk_points_ledger", ["org_id", "customer_id", "version", "program_id"]
        )
        batch_op.drop_column("seq")
