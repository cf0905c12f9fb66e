"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 20:18:22.889326
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(sa.Sequence("customer_id_seq")))
    op.create_table(
        "orgs",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("default_country", sa.String(length=2), nullable=False),
        sa.Column("strict_fields", sa.Boolean(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_orgs")),
    )
    op.create_table(
        "customers",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("loyalty_type", sa.String(length=12), nullable=False),
        sa.Column(
            "extended_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"], name=op.f("fk_customers_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_id", ["id"], unique=False)

    op.create_table(
        "field_definitions",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("data_type", sa.String(length=20), nullable=False),
        sa.Column(
            "enum_values",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.org_id"], name=op.f("fk_field_definitions_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("org_id", "kind", "name", name=op.f("pk_field_definitions")),
    )
    op.create_table(
        "org_sources",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.org_id"], name=op.f("fk_org_sources_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("org_id", "source", name=op.f("pk_org_sources")),
    )
    op.create_table(
        "programs",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"], name=op.f("fk_programs_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", "program_id", name=op.f("pk_programs")),
    )
    op.create_table(
        "tills",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"], name=op.f("fk_tills_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", "code", name=op.f("pk_tills")),
    )
    with op.batch_alter_table("tills", schema=None) as batch_op:
        batch_op.create_index("ix_tills_code", ["code"], unique=False)

    op.create_table(
        "customer_history",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("actor_code", sa.String(length=128), nullable=False),
        sa.Column("actor_type", sa.String(length=10), nullable=False),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id"],
            ["customers.org_id", "customers.id"],
            name=op.f("fk_customer_history_org_id_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint(
            "org_id", "customer_id", "version", name=op.f("pk_customer_history")
        ),
    )
    op.create_table(
        "oauth_clients",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("client_key", sa.String(length=128), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("till_code", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "till_code"],
            ["tills.org_id", "tills.code"],
            name=op.f("fk_oauth_clients_org_id_till_code_tills"),
        ),
        sa.PrimaryKeyConstraint("org_id", "client_key", name=op.f("pk_oauth_clients")),
    )
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_clients_client_key", ["client_key"], unique=False)

    op.create_table(
        "org_accounts",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "source"],
            ["org_sources.org_id", "org_sources.source"],
            name=op.f("fk_org_accounts_org_id_source_org_sources"),
        ),
        sa.PrimaryKeyConstraint("org_id", "source", "account_id", name=op.f("pk_org_accounts")),
    )
    op.create_table(
        "profiles",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column(
            "fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_by_type", sa.String(length=10), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_by", sa.String(length=128), nullable=False),
        sa.Column("modified_by_type", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id"],
            ["customers.org_id", "customers.id"],
            name=op.f("fk_profiles_org_id_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint(
            "org_id", "customer_id", "source", "account_id", name=op.f("pk_profiles")
        ),
    )
    op.create_table(
        "tiers",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "program_id"],
            ["programs.org_id", "programs.program_id"],
            name=op.f("fk_tiers_org_id_program_id_programs"),
        ),
        sa.PrimaryKeyConstraint("org_id", "program_id", "number", name=op.f("pk_tiers")),
    )
    op.create_table(
        "comm_channels",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=150), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column(
            "meta",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id", "source", "account_id"],
            ["profiles.org_id", "profiles.customer_id", "profiles.source", "profiles.account_id"],
            name=op.f("fk_comm_channels_org_id_customer_id_source_account_id_profiles"),
        ),
        sa.PrimaryKeyConstraint(
            "org_id",
            "customer_id",
            "source",
            "account_id",
            "type",
            "value",
            name=op.f("pk_comm_channels"),
        ),
    )
    op.create_table(
        "enrolments",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("program_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tier_number", sa.Integer(), nullable=False),
        sa.Column("tier_expiry_date", sa.String(length=40), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id"],
            ["customers.org_id", "customers.id"],
            name=op.f("fk_enrolments_org_id_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "program_id", "tier_number"],
            ["tiers.org_id", "tiers.program_id", "tiers.number"],
            name=op.f("fk_enrolments_org_id_program_id_tier_number_tiers"),
        ),
        sa.PrimaryKeyConstraint("org_id", "customer_id", "program_id", name=op.f("pk_enrolments")),
    )
    op.create_table(
        "identifiers",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=150), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id", "source", "account_id"],
            ["profiles.org_id", "profiles.customer_id", "profiles.source", "profiles.account_id"],
            name=op.f("fk_identifiers_org_id_customer_id_source_account_id_profiles"),
        ),
        sa.PrimaryKeyConstraint(
            "org_id", "source", "account_id", "type", "value", name=op.f("pk_identifiers")
        ),
    )
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_identifiers_org_id_customer_id", ["org_id", "customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_identifiers_org_id_type_value", ["org_id", "type", "value"], unique=False
        )

    op.create_table(
        "points_ledger",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id", "program_id"],
            ["enrolments.org_id", "enrolments.customer_id", "enrolments.program_id"],
            name=op.f("fk_points_ledger_org_id_customer_id_program_id_enrolments"),
        ),
        sa.PrimaryKeyConstraint(
            "org_id", "customer_id", "version", "program_id", name=op.f("pk_points_ledger")
        ),
    )


def downgrade() -> None:
    op.drop_table("points_ledger")
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_identifiers_org_id_type_value")
        batch_op.drop_index("ix_identifiers_org_id_customer_id")

    op.drop_table("identifiers")
    op.drop_table("enrolments")
    op.drop_table("comm_channels")
    op.drop_table("tiers")
    op.drop_table("profiles")
    op.drop_table("org_accounts")
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_clients_client_key")

    op.drop_table("oauth_clients")
    op.drop_table("customer_history")
    with op.batch_alter_table("tills", schema=None) as batch_op:
        batch_op.drop_index("ix_tills_code")

    op.drop_table("tills")
    op.drop_table("programs")
    op.drop_table("org_sources")
    op.drop_table("field_definitions")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_id")

    op.drop_table("customers")
    op.drop_table("orgs")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("customer_id_seq")))
