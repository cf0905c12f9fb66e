"""profiles in the customer's row: profiles and channels become `customers.profiles` (JSON)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 08:30:00.000000

An update that changed a name and a channel changed three rows in three tables (the customer,
its profile, its channel), each on its own page; on a large database every one of those pages
costs the write-ahead log a full page after each checkpoint. The profiles and their channels
now live in one JSON list in the customer's row (shape: `patron/customers/profiles_doc.py`),
so such an update changes one row. Identifiers keep their tables: lookups find customers by
them, and their keys are the uniqueness rules.

The upgrade fills the list of every customer from the two tables (profiles in the order they
were created, channels in their stored order), then drops them; identifiers now refer to their
customer's row. It rewrites every customer row once: on a large database, run it in a quiet
hour (docs/operations.md). The downgrade rebuilds the two tables from the lists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_PROFILE_FK = "fk_identifiers_org_id_customer_id_source_account_id_profiles"
_CUSTOMER_FK = "fk_identifiers_org_id_customer_id_customers"

_PG_UTC = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"

_FILL_POSTGRES = (
    "UPDATE customers c SET profiles = COALESCE((SELECT jsonb_agg(jsonb_build_object("
    "'source', p.source, 'account_id', p.account_id, 'first_name', p.first_name,"
    " 'last_name', p.last_name, 'fields', p.fields,"
    f" 'created_at', {_PG_UTC.format('p.created_at')}, 'created_by', p.created_by,"
    " 'created_by_type', p.created_by_type,"
    f" 'modified_at', {_PG_UTC.format('p.modified_at')}, 'modified_by', p.modified_by,"
    " 'modified_by_type', p.modified_by_type,"
    " 'channels', COALESCE((SELECT jsonb_agg(jsonb_build_object('type', ch.type, 'value', ch.value,"
    " 'is_primary', ch.is_primary, 'verified', ch.verified, 'meta', ch.meta) ORDER BY ch.position)"
    " FROM comm_channels ch WHERE ch.org_id = p.org_id AND ch.customer_id = p.customer_id"
    " AND ch.source = p.source AND ch.account_id = p.account_id), '[]'::jsonb))"
    " ORDER BY p.created_at, p.source, p.account_id)"
    " FROM profiles p WHERE p.org_id = c.org_id AND p.customer_id = c.id), '[]'::jsonb)"
)

# SQLite keeps booleans as 0 and 1, and JSON as text: `json(...)` keeps a nested list or object
# a JSON value rather than a string.
_FILL_SQLITE = (
    "UPDATE customers SET profiles = COALESCE((SELECT json_group_array(json_object("
    "'source', p.source, 'account_id', p.account_id, 'first_name', p.first_name,"
    " 'last_name', p.last_name, 'fields', json(p.fields), 'created_at', p.created_at,"
    " 'created_by', p.created_by, 'created_by_type', p.created_by_type,"
    " 'modified_at', p.modified_at, 'modified_by', p.modified_by,"
    " 'modified_by_type', p.modified_by_type,"
    " 'channels', json(COALESCE((SELECT json_group_array(json_object('type', ch.type,"
    " 'value', ch.value, 'is_primary', json(CASE WHEN ch.is_primary THEN 'true' ELSE 'false' END),"
    " 'verified', json(CASE WHEN ch.verified THEN 'true' ELSE 'false' END), 'meta', json(ch.meta)))"
    " FROM (SELECT * FROM comm_channels x WHERE x.org_id = p.org_id AND x.customer_id = p.customer_id"
    " AND x.source = p.source AND x.account_id = p.account_id ORDER BY x.position) ch), '[]'))))"
    " FROM (SELECT * FROM profiles y WHERE y.org_id = customers.org_id AND y.customer_id = customers.id"
    " ORDER BY y.created_at, y.source, y.account_id) p), '[]')"
)


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profiles", _JSON, nullable=True))
    conn = op.get_bind()
    conn.execute(sa.text(_FILL_POSTGRES if conn.dialect.name == "postgresql" else _FILL_SQLITE))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.alter_column("profiles", existing_type=_JSON, nullable=False)
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_PROFILE_FK), type_="foreignkey")
        batch_op.create_foreign_key(
            op.f(_CUSTOMER_FK), "customers", ["org_id", "customer_id"], ["org_id", "id"]
        )
    op.drop_table("comm_channels")
    op.drop_table("profiles")


_UNFOLD_PROFILES = {
    "postgresql": (
        "INSERT INTO profiles (org_id, customer_id, source, account_id, first_name, last_name,"
        " fields, created_at, created_by, created_by_type, modified_at, modified_by,"
        " modified_by_type) SELECT c.org_id, c.id, e->>'source', e->>'account_id',"
        " e->>'first_name', e->>'last_name', e->'fields', (e->>'created_at')::timestamptz,"
        " e->>'created_by', e->>'created_by_type', (e->>'modified_at')::timestamptz,"
        " e->>'modified_by', e->>'modified_by_type'"
        " FROM customers c CROSS JOIN LATERAL jsonb_array_elements(c.profiles) e"
    ),
    "sqlite": (
        "INSERT INTO profiles (org_id, customer_id, source, account_id, first_name, last_name,"
        " fields, created_at, created_by, created_by_type, modified_at, modified_by,"
        " modified_by_type) SELECT c.org_id, c.id, e.value ->> '$.source',"
        " e.value ->> '$.account_id', e.value ->> '$.first_name', e.value ->> '$.last_name',"
        " e.value -> '$.fields', e.value ->> '$.created_at', e.value ->> '$.created_by',"
        " e.value ->> '$.created_by_type', e.value ->> '$.modified_at',"
        " e.value ->> '$.modified_by', e.value ->> '$.modified_by_type'"
        " FROM customers c, json_each(c.profiles) e"
    ),
}

_UNFOLD_CHANNELS = {
    "postgresql": (
        "INSERT INTO comm_channels (org_id, customer_id, source, account_id, type, value,"
        " is_primary, verified, meta, position) SELECT c.org_id, c.id, e->>'source',"
        " e->>'account_id', ch->>'type', ch->>'value', (ch->>'is_primary')::boolean,"
        " (ch->>'verified')::boolean, ch->'meta', (n - 1)::int"
        " FROM customers c CROSS JOIN LATERAL jsonb_array_elements(c.profiles) e"
        " CROSS JOIN LATERAL jsonb_array_elements(e->'channels') WITH ORDINALITY AS x(ch, n)"
    ),
    "sqlite": (
        "INSERT INTO comm_channels (org_id, customer_id, source, account_id, type, value,"
        " is_primary, verified, meta, position) SELECT c.org_id, c.id, e.value ->> '$.source',"
        " e.value ->> '$.account_id', ch.value ->> '$.type', ch.value ->> '$.value',"
        " ch.value ->> '$.is_primary', ch.value ->> '$.verified', ch.value -> '$.meta', ch.key"
        " FROM customers c, json_each(c.profiles) e, json_each(e.value, '$.channels') ch"
    ),
}


def downgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("fields", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_by_type", sa.String(length=20), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_by", sa.String(length=128), nullable=False),
        sa.Column("modified_by_type", sa.String(length=20), nullable=False),
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
        "comm_channels",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=150), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("meta", _JSON, nullable=False),
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
    conn = op.get_bind()
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    conn.execute(sa.text(_UNFOLD_PROFILES[dialect]))
    conn.execute(sa.text(_UNFOLD_CHANNELS[dialect]))
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_CUSTOMER_FK), type_="foreignkey")
        batch_op.create_foreign_key(
            op.f(_PROFILE_FK),
            "profiles",
            ["org_id", "customer_id", "source", "account_id"],
            ["org_id", "customer_id", "source", "account_id"],
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("profiles")
