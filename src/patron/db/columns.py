"""The customer tables and the order of their columns, as COPY records follow it.

The same facts as `patron.db.tables`, without SQLAlchemy: `patron import` writes rows by position,
and loading SQLAlchemy's table metadata only to read these names took a sixth of a second of
its start, with one core idle. tests/db/test_column_names.py keeps the two equal.
"""

from __future__ import annotations

CUSTOMER_ROW_TABLES: tuple[str, ...] = (
    "customers",
    "identifier_owners",
    "identifiers",
    "enrolments",
    "points_ledger",
    "customer_history",
    "subscriptions",
)
"""The tables a customer's own rows live in, parents before children (the order COPY needs)."""

COPY_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "org_id",
        "id",
        "version",
        "loyalty_type",
        "extended_fields",
        "created_at",
        "modified_at",
        "profiles",
    ),
    "identifier_owners": ("org_id", "type", "value", "customer_id"),
    "identifiers": ("org_id", "source", "account_id", "type", "value", "customer_id", "position"),
    "enrolments": (
        "org_id",
        "customer_id",
        "program_id",
        "tier_number",
        "tier_expiry_date",
        "enrolled_at",
    ),
    "points_ledger": (
        "org_id",
        "customer_id",
        "version",
        "program_id",
        "points",
        "expires_at",
        "credited_at",
        "request_id",
        "seq",
    ),
    "customer_history": (
        "org_id",
        "customer_id",
        "version",
        "at",
        "request_id",
        "actor_code",
        "actor_type",
        "changes",
        "context",
    ),
    "subscriptions": (
        "org_id",
        "customer_id",
        "channel",
        "priority",
        "type",
        "version",
        "changed_at",
    ),
    "outbox": ("org_id", "id", "event_id", "subject", "payload", "created_at"),
}
"""Per customer table (parents first) and the outbox: the columns a COPY fills, in schema order
(every column but the outbox's `published_at`, which stays NULL until the relay sets it)."""
