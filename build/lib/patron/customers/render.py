"""Customers, lookups and history as the wire contract shows them (SPEC 5.2)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from patron.customers.model import Actor, Customer, Profile
from patron.customers.planner import channel_wire
from patron.db.driver import Row
from patron.errors import Problem
from patron.orgs.model import OrgConfig


def timestamp(value: datetime | None) -> str | None:
    """UTC, seconds precision, with a Z: `2026-11-28T10:00:00Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _actor(actor: Actor | None) -> dict[str, str] | None:
    return None if actor is None else {"code": actor.code, "type": actor.type}


def profile_wire(p: Profile) -> dict[str, Any]:
    """One profile with its identifiers, channels, custom fields and attribution."""
    return {
        "firstName": p.first_name,
        "lastName": p.last_name,
        "source": p.source,
        "accountId": p.account_id or None,
        "identifiers": [{"type": t, "value": v} for t, v in p.identifiers],
        "commChannels": [channel_wire(ch) for ch in p.channels],
        "fields": p.fields,
        "attribution": {
            "createDate": timestamp(p.created_at),
            "createdBy": _actor(p.created_by),
            "modifiedDate": timestamp(p.modified_at),
            "modifiedBy": _actor(p.modified_by),
        },
    }


def customer_wire(
    c: Customer, profiles: Iterable[Profile], config: OrgConfig, warnings: list[Problem]
) -> dict[str, Any]:
    """A customer's full details, with the given profiles."""
    details = []
    for e in c.enrolments.values():
        program = config.programs.get(e.program_id)
        tier = program.tiers.get(e.tier_number) if program else None
        details.append(
            {
                "programId": e.program_id,
                "tierNumber": e.tier_number,
                "tierName": tier.name if tier else None,
                "tierExpiryDate": e.tier_expiry_date,
                "loyaltyPoints": e.points,
            }
        )
    return {
        "id": c.id,
        "profiles": [profile_wire(p) for p in profiles],
        "loyaltyInfo": {"loyaltyType": c.loyalty_type},
        "extendedFields": c.extended_fields,
        "loyaltyProgramDetails": details,
        "warnings": [w.to_wire() for w in warnings],
    }


def history_wire(rows: list[Row]) -> list[dict[str, Any]]:
    """History rows as `{"at", "requestId", "by", "changes"}` entries."""
    out = []
    for r in rows:
        at = r["at"]
        out.append(
            {
                "at": timestamp(
                    at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
                ),
                "requestId": r["request_id"],
                "by": {"code": r["actor_code"], "type": r["actor_type"]},
                "changes": r["changes"],
            }
        )
    return out


def etag(c: Customer) -> str:
    """The customer's version as an entity tag."""
    return f'"{c.version}"'
