"""The schema, as SQLAlchemy Core tables: the source the migrations are checked against.

Every table carries `org_id` and every primary and unique key starts with it, so the schema can
be distributed by `org_id` on Citus. Queries are written by hand in the repositories (see
`patron.db.driver`); these definitions serve the migrations and the drift test.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

# Re-exported: the schema holds the list, columns.py the SQLAlchemy-free copy the import reads.
from patron.db.columns import CUSTOMER_ROW_TABLES as CUSTOMER_ROW_TABLES

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)

ORG_CODE = 64
CODE = 128
SOURCE = 20
ACCOUNT = 64
TYPE = 20
VALUE = 150
ACTOR_TYPE = 20
"""`TILL`, `CONSOLE_USER`: who made a change (history, profile attribution)."""

customer_id_seq = sa.Sequence("customer_id_seq", metadata=metadata)


def _org() -> sa.Column[str]:
    return sa.Column("org_id", sa.String(ORG_CODE), nullable=False)


orgs = sa.Table(
    "orgs",
    metadata,
    _org(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("default_country", sa.String(2), nullable=False),
    sa.Column("strict_fields", sa.Boolean, nullable=False),
    sa.Column("config_version", sa.Integer, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    # subscriptionDefaults: the consent (OPTIN/OPTOUT) of a customer nobody recorded one for.
    sa.Column("subscription_trans", sa.String(6), nullable=False, server_default="OPTIN"),
    sa.Column("subscription_bulk", sa.String(6), nullable=False, server_default="OPTIN"),
    sa.PrimaryKeyConstraint("org_id"),
)

org_sources = sa.Table(
    "org_sources",
    metadata,
    _org(),
    sa.Column("source", sa.String(SOURCE), nullable=False),
    sa.PrimaryKeyConstraint("org_id", "source"),
    sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"]),
)

org_accounts = sa.Table(
    "org_accounts",
    metadata,
    _org(),
    sa.Column("source", sa.String(SOURCE), nullable=False),
    sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
    sa.PrimaryKeyConstraint("org_id", "source", "account_id"),
    sa.ForeignKeyConstraint(["org_id", "source"], ["org_sources.org_id", "org_sources.source"]),
)

tills = sa.Table(
    "tills",
    metadata,
    _org(),
    sa.Column("code", sa.String(CODE), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.PrimaryKeyConstraint("org_id", "code"),
    sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"]),
    # A Basic credential carries no org: authentication finds the till by code alone.
    sa.Index("ix_tills_code", "code"),
)

oauth_clients = sa.Table(
    "oauth_clients",
    metadata,
    _org(),
    sa.Column("client_key", sa.String(CODE), nullable=False),
    sa.Column("secret_hash", sa.String(200), nullable=False),
    sa.Column("till_code", sa.String(CODE), nullable=False),
    sa.PrimaryKeyConstraint("org_id", "client_key"),
    sa.ForeignKeyConstraint(["org_id", "till_code"], ["tills.org_id", "tills.code"]),
    sa.Index("ix_oauth_clients_client_key", "client_key"),
)

field_definitions = sa.Table(
    "field_definitions",
    metadata,
    _org(),
    sa.Column("kind", sa.String(10), nullable=False),  # "extended" or "custom"
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("data_type", sa.String(20), nullable=False),
    sa.Column("enum_values", Json, nullable=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("org_id", "kind", "name"),
    sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"]),
)

programs = sa.Table(
    "programs",
    metadata,
    _org(),
    sa.Column("program_id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("org_id", "program_id"),
    sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"]),
)

tiers = sa.Table(
    "tiers",
    metadata,
    _org(),
    sa.Column("program_id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("number", sa.Integer, nullable=False, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.PrimaryKeyConstraint("org_id", "program_id", "number"),
    sa.ForeignKeyConstraint(["org_id", "program_id"], ["programs.org_id", "programs.program_id"]),
)

console_users = sa.Table(
    "console_users",
    metadata,
    _org(),
    sa.Column("login", sa.String(CODE), nullable=False),
    # The login lower-cased: logins are unique across orgs ignoring case (checked when a
    # document is applied, like till codes), and sign-in finds the org by it.
    sa.Column("login_key", sa.String(CODE), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.PrimaryKeyConstraint("org_id", "login"),
    sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"]),
    sa.Index("ix_console_users_login_key", "login_key"),
)

customers = sa.Table(
    "customers",
    metadata,
    _org(),
    sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("loyalty_type", sa.String(12), nullable=False),
    sa.Column("extended_fields", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("modified_at", Timestamp, nullable=False),
    # The customer's profiles (one per source/account) with their names, custom fields,
    # attribution and communication channels, as one JSON list (`customers/profiles_doc.py`).
    # In the customer's own row, so an update that changes a name and a channel changes one
    # row, not three (migration 0012). Identifiers stay in their tables: they are looked up.
    sa.Column("profiles", Json, nullable=False),
    sa.PrimaryKeyConstraint("org_id", "id"),
    sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"]),
    # SQLite allocates ids as MAX(id) + 1; PostgreSQL uses customer_id_seq.
    sa.Index("ix_customers_id", "id"),
)

identifier_owners = sa.Table(
    "identifier_owners",
    metadata,
    _org(),
    sa.Column("type", sa.String(TYPE), nullable=False),
    sa.Column("value", sa.String(VALUE), nullable=False),
    sa.Column("customer_id", sa.BigInteger, nullable=False, autoincrement=False),
    # SPEC 6 rules 4 and 12: one customer per (type, value) in an org, whatever the source. The
    # customer may hold the value in several of its profiles; this row names it once, and goes
    # with the last of them.
    sa.PrimaryKeyConstraint("org_id", "type", "value"),
    sa.ForeignKeyConstraint(["org_id", "customer_id"], ["customers.org_id", "customers.id"]),
)

identifiers = sa.Table(
    "identifiers",
    metadata,
    _org(),
    sa.Column("source", sa.String(SOURCE), nullable=False),
    sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
    sa.Column("type", sa.String(TYPE), nullable=False),
    sa.Column("value", sa.String(VALUE), nullable=False),
    sa.Column("customer_id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("position", sa.Integer, nullable=False),
    # The primary key is the uniqueness rule: one holder per org, source, account, type, value.
    sa.PrimaryKeyConstraint("org_id", "source", "account_id", "type", "value"),
    # The profile an identifier belongs to lives in its customer's row (`customers.profiles`);
    # the writer keeps the two together.
    sa.ForeignKeyConstraint(["org_id", "customer_id"], ["customers.org_id", "customers.id"]),
    sa.Index("ix_identifiers_org_id_customer_id", "org_id", "customer_id"),
    sa.Index("ix_identifiers_org_id_type_value", "org_id", "type", "value"),
)

enrolments = sa.Table(
    "enrolments",
    metadata,
    _org(),
    sa.Column("customer_id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("program_id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("tier_number", sa.Integer, nullable=False),
    # Kept as the client wrote it (with its offset), since the details echo it back.
    sa.Column("tier_expiry_date", sa.String(40), nullable=True),
    sa.Column("enrolled_at", Timestamp, nullable=False),
    sa.PrimaryKeyConstraint("org_id", "customer_id", "program_id"),
    sa.ForeignKeyConstraint(["org_id", "customer_id"], ["customers.org_id", "customers.id"]),
    sa.ForeignKeyConstraint(
        ["org_id", "program_id", "tier_number"],
        ["tiers.org_id", "tiers.program_id", "tiers.number"],
    ),
)

points_ledger = sa.Table(
    "points_ledger",
    metadata,
    _org(),
    sa.Column("customer_id", sa.BigInteger, nullable=False, autoincrement=False),
    # The customer version written by the update that credited the points: with `seq`, it
    # names a credit.
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("program_id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=True),
    sa.Column("credited_at", Timestamp, nullable=False),
    sa.Column("request_id", sa.String(CODE), nullable=False),
    # A credit's number among one write's credits of one program: an API write credits a
    # program once (0); an imported line carries a whole ledger, so 0, 1, ... (migration 0010).
    sa.Column("seq", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.PrimaryKeyConstraint("org_id", "customer_id", "version", "program_id", "seq"),
    sa.ForeignKeyConstraint(
        ["org_id", "customer_id", "program_id"],
        ["enrolments.org_id", "enrolments.customer_id", "enrolments.program_id"],
    ),
    # Covers the balance and expiry-schedule queries (customers/points_repository.py): a
    # customer's credits are summed per program from the index alone (migration 0006).
    sa.Index(
        "ix_points_ledger_balance", "org_id", "customer_id", "program_id", "expires_at", "points"
    ),
)

customer_history = sa.Table(
    "customer_history",
    metadata,
    _org(),
    sa.Column("customer_id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("request_id", sa.String(CODE), nullable=False),
    sa.Column("actor_code", sa.String(CODE), nullable=False),
    sa.Column("actor_type", sa.String(ACTOR_TYPE), nullable=False),
    sa.Column("changes", Json, nullable=False),
    # Why and where a consent change was made (reason, campaign, communication, sources);
    # NULL for writes that carry no provenance beyond who and when.
    sa.Column("context", Json, nullable=True),
    sa.PrimaryKeyConstraint("org_id", "customer_id", "version"),
    sa.ForeignKeyConstraint(["org_id", "customer_id"], ["customers.org_id", "customers.id"]),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    _org(),
    sa.Column("customer_id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("priority", sa.String(5), nullable=False),
    sa.Column("type", sa.String(6), nullable=False),
    # The customer version whose history entry records this state's provenance.
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("changed_at", Timestamp, nullable=False),
    sa.PrimaryKeyConstraint("org_id", "customer_id", "channel", "priority"),
    sa.ForeignKeyConstraint(["org_id", "customer_id"], ["customers.org_id", "customers.id"]),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    _org(),
    # The client's Idempotency-Key: 1-255 printable ASCII characters, unique per org.
    sa.Column("key", sa.String(255), nullable=False),
    # SHA-256 (hex) of method, path, canonical query and raw body: same key, other request -> 409.
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # NULL while the first request runs; set in the same transaction as its writes, so a
    # committed row always holds its response.
    sa.Column("status", sa.Integer, nullable=True),
    # The response body exactly as sent (text, not JSON: JSONB would reorder its keys).
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("response_headers", Json, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.PrimaryKeyConstraint("org_id", "key"),
    sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"]),
    # The cleanup deletes by expiry across orgs; not unique, so it need not start with org_id.
    sa.Index("ix_idempotency_keys_expires_at", "expires_at"),
)

outbox_id_seq = sa.Sequence("outbox_id_seq", metadata=metadata)

outbox = sa.Table(
    "outbox",
    metadata,
    _org(),
    # Publication order: PostgreSQL takes it from outbox_id_seq, SQLite from MAX(rowid) + 1 under
    # its single writer (the rowid's own b-tree answers that without an index on id).
    sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
    # The de-duplication id a subscriber sees (and JetStream's Nats-Msg-Id): a UUID.
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    # The message exactly as published (text, not JSON: JSONB would reorder its keys).
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # NULL until the relay has JetStream's acknowledgement.
    sa.Column("published_at", Timestamp, nullable=True),
    sa.PrimaryKeyConstraint("org_id", "id"),
    sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"]),
    # The relay reads pending events across orgs in id order; not unique, so it need not start
    # with org_id. Partial, so published events cost the relay nothing.
    sa.Index(
        "ix_outbox_pending",
        "id",
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    ),
)

import_runs = sa.Table(
    "import_runs",
    metadata,
    _org(),
    # First 32 hex digits of SHA-256 over the format and the file's bytes: the same file into the
    # same org is the same import, whatever its name or path.
    sa.Column("import_id", sa.String(32), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("file_format", sa.String(10), nullable=False),
    sa.Column("total_lines", sa.BigInteger, nullable=False),
    # The last line whose batch committed, moved in the same transaction as that batch's writes.
    sa.Column("last_line", sa.BigInteger, nullable=False),
    sa.Column("applied", sa.BigInteger, nullable=False),
    sa.Column("refused", sa.BigInteger, nullable=False),
    # Size of the reject file once the committed batches' entries are in it: a resume cuts the
    # file back to it, dropping the entries of a batch that did not commit.
    sa.Column("rejects_offset", sa.BigInteger, nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp, nullable=True),
    sa.PrimaryKeyConstraint("org_id", "import_id"),
    sa.ForeignKeyConstraint(["org_id"], ["orgs.org_id"]),
)


def column_names(table: str, *, without: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The columns of `table` in schema order, the order positional COPY records follow."""
    # Plain str: SQLAlchemy's quoted_name subclass is refused by orjson as a dict key.
    return tuple(str(c.name) for c in metadata.tables[table].columns if c.name not in without)
