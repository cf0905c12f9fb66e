"""How a customer's profiles and their channels are stored: one JSON list in the customer's row.

Pure: no I/O. Every writer (an API write, the import's COPY, the bench's loader) builds the list
with `encode` or `entry`, and the reader turns it back with `decode`, so the stored shape is
defined here once.

One entry per profile, in the order the profiles were added:
`{"source", "account_id", "first_name", "last_name", "fields", "created_at", "created_by",
"created_by_type", "modified_at", "modified_by", "modified_by_type", "channels"}`, with
`channels` a list of `{"type", "value", "is_primary", "verified", "meta"}` in the profile's
order. Times are ISO 8601 text in UTC. A profile's identifiers are not in it: they live in the
`identifiers` table, where lookups find them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from patron.customers.model import Actor, Channel, Customer, Profile


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def entry(p: Profile) -> dict[str, Any]:
    """One stored profile, its channels included."""
    created = p.created_by or Actor("")
    modified = p.modified_by or created
    return {
        "source": p.source,
        "account_id": p.account_id,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "fields": p.fields,
        "created_at": _time(p.created_at),
        "created_by": created.code,
        "created_by_type": created.type,
        "modified_at": _time(p.modified_at),
        "modified_by": modified.code,
        "modified_by_type": modified.type,
        "channels": [
            {
                "type": ch.type,
                "value": ch.value,
                "is_primary": ch.primary,
                "verified": ch.verified,
                "meta": ch.meta,
            }
            for ch in p.channels
        ],
    }


def encode(customer: Customer) -> list[dict[str, Any]]:
    """The stored list of a customer's profiles."""
    return [entry(p) for p in customer.profiles.values()]


def _at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def decode(stored: list[dict[str, Any]], customer: Customer) -> None:
    """Put the stored profiles into `customer` (identifiers are added by the caller)."""
    for e in stored:
        key = (e["source"], e["account_id"])
        customer.profiles[key] = Profile(
            source=key[0],
            account_id=key[1],
            first_name=e["first_name"],
            last_name=e["last_name"],
            fields=e["fields"] or {},
            channels=[
                Channel(c["type"], c["value"], c["is_primary"], c["verified"], c["meta"] or {})
                for c in e["channels"]
            ],
            created_at=_at(e["created_at"]),
            created_by=Actor(e["created_by"], e["created_by_type"]),
            modified_at=_at(e["modified_at"]),
            modified_by=Actor(e["modified_by"], e["modified_by_type"]),
        )
