"""points ledger: an index that answers a customer's balances on its own

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 20:15:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every column the balance and expiry queries read, so a customer's credits (thousands of
    # them for a long-standing member) are summed from the index alone, grouped by program.
    op.create_index(
        "ix_points_ledger_balance",
        "points_ledger",
        ["org_id", "customer_id", "program_id", "expires_at", "points"],
    )


def downgrade() -> None:
    op.drop_index("ix_points_ledger_balance", table_name="points_ledger")
