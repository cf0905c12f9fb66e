"""What storing a plan writes, table by table: one description that every writer turns into SQL.

Pure: no I/O. `rows_of` reads a plan once and names every row to insert, update or upsert. The
writers (`patron.customers.writes` for SQLite statements and PostgreSQL's one-statement update,
`patron.bulk.batch_writes` for COPY) place these values in their SQL and know nothing of plans,
so a new column is added here once.

Values every row of a write shares (the org, the customer's id and version, the time, the actor,
the request id) are not repeated in each row: they are the `Stamp` of the write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.customers.events import Event, events_for
from patron.customers.model import Actor, ProfileKey
from patron.customers.planner import Plan
from patron.orgs.model import OrgId


@dataclass(frozen=True, slots=True)
class Stamp:
    """What every row of one write shares."""

    org_id: OrgId
    customer_id: int
    version: int
    now: datetime
    actor: Actor
    request_id: str


@dataclass(slots=True)
class PlanRows:
    """Every row a plan writes. Each row is a dict of its own columns (not the stamp's), in the
    tables' column order; the parts are listed in the order foreign keys need."""

    stamp: Stamp
    customer: dict[str, Any]
    """`customers`: inserted for a registration, updated otherwise."""
    parts: dict[str, list[dict[str, Any]]]
    """Rows per part: `removed_identifiers` (delete from `identifiers`), `released_owners`
    (delete from `identifier_owners`), `new_profiles` (insert), `profiles` (update), `owners`
    (insert into `identifier_owners`), `identifiers` (insert), `channels` (upsert into
    `comm_channels`), `enrolments` (insert), `credits` (insert into `points_ledger`),
    `subscriptions` (upsert: consent states)."""
    changes: list[dict[str, Any]]
    """The history entry's list of changes (`customer_history`, one row)."""
    context: dict[str, Any] | None
    """The history entry's provenance beyond who and when (`customer_history.context`)."""
    events: list[Event]
    """The outbox rows, in the order their ids follow."""


PARTS = (
    "removed_identifiers",
    "released_owners",
    "new_profiles",
    "profiles",
    "owners",
    "identifiers",
    "channels",
    "enrolments",
    "credits",
    "subscriptions",
)
"""The parts of `PlanRows.parts`, in the order statements run: deletes first (a value removed
by one request is free before anything is added), then parents before children."""


def _profile(plan: Plan, key: ProfileKey) -> dict[str, Any]:
    p = plan.customer.profiles[key]
    return {
        "source": key[0],
        "account_id": key[1],
        "first_name": p.first_name,
        "last_name": p.last_name,
        "fields": p.fields,
    }


def rows_of(plan: Plan, stamp: Stamp, *, registered: bool) -> PlanRows:
    """The rows that store `plan` (a plan without errors) under `stamp`."""
    c = plan.customer
    w = plan.writes
    new = set(w.new_profiles)
    channels: dict[tuple[ProfileKey, str, str], dict[str, Any]] = {}
    for key, ch in w.channels:
        position = next(i for i, x in enumerate(c.profiles[key].channels) if x is ch)
        # One row per channel: a channel written twice by one plan keeps its last state (an
        # upsert may not touch one row twice in one PostgreSQL statement).
        channels[(key, ch.type, ch.value)] = {
            "source": key[0],
            "account_id": key[1],
            "type": ch.type,
            "value": ch.value,
            "is_primary": ch.primary,
            "verified": ch.verified,
            "meta": ch.meta,
            "position": position,
        }
    parts: dict[str, list[dict[str, Any]]] = {
        "removed_identifiers": [
            {"source": k[0], "account_id": k[1], "type": t, "value": v}
            for k, t, v in w.removed_identifiers
        ],
        "released_owners": [{"type": t, "value": v} for t, v in w.released_owners],
        "new_profiles": [_profile(plan, k) for k in w.new_profiles],
        "profiles": [_profile(plan, k) for k in w.touched_profiles if k not in new],
        "owners": [{"type": t, "value": v} for t, v in w.new_owners],
        "identifiers": [
            {
                "source": k[0],
                "account_id": k[1],
                "type": t,
                "value": v,
                "position": c.profiles[k].identifiers.index((t, v)),
            }
            for k, t, v in w.new_identifiers
        ],
        "channels": list(channels.values()),
        "enrolments": [
            {
                "program_id": e.program_id,
                "tier_number": e.tier_number,
                "tier_expiry_date": e.tier_expiry_date,
            }
            for e in w.new_enrolments
        ],
        "credits": [
            {"program_id": cr.program_id, "points": cr.points, "expires_at": cr.expires_at}
            for cr in w.credits
        ],
        "subscriptions": [
            {"channel": ch, "priority": pr, "type": t} for ch, pr, t in w.subscriptions
        ],
    }
    # The history entry and the events carry the same list.
    changes = [ch.to_wire() for ch in plan.changes]
    events = events_for(
        plan,
        org_code=stamp.org_id,
        customer_id=stamp.customer_id,
        request_id=stamp.request_id,
        actor=stamp.actor,
        now=stamp.now,
        registered=registered,
        changes=changes,
    )
    return PlanRows(stamp, customer_row(plan), parts, changes, plan.context, events)


def customer_row(plan: Plan) -> dict[str, Any]:
    """The `customers` row's own columns (a registration inserts it first, to learn its id)."""
    c = plan.customer
    return {"loyalty_type": c.loyalty_type, "extended_fields": c.extended_fields}
