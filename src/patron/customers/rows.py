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

from patron.customers import profiles_doc
from patron.customers.events import Event, events_for
from patron.customers.model import Actor
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
    """`customers`: inserted for a registration, updated otherwise. Its `profiles` (the stored
    list of `patron.customers.profiles_doc`) is None when no profile changed: it is kept."""
    parts: dict[str, list[dict[str, Any]]]
    """Rows per part: `removed_identifiers` (delete from `identifiers`), `released_owners`
    (delete from `identifier_owners`), `owners` (insert into `identifier_owners`),
    `identifiers` (insert), `enrolments` (insert), `credits` (insert into `points_ledger`),
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
    "owners",
    "identifiers",
    "enrolments",
    "credits",
    "subscriptions",
)
"""The parts of `PlanRows.parts`, in the order statements run: deletes first (a value removed
by one request is free before anything is added), then parents before children."""


def rows_of(
    plan: Plan, stamp: Stamp, *, registered: bool, customer: dict[str, Any] | None = None
) -> PlanRows:
    """The rows that store `plan` (a plan without errors) under `stamp`.

    `customer`: the registration's `customer_row`, when its writer built it already (to insert
    the row and learn its id), so the profiles are not encoded twice.
    """
    c = plan.customer
    w = plan.writes
    parts: dict[str, list[dict[str, Any]]] = {
        "removed_identifiers": [
            {"source": k[0], "account_id": k[1], "type": t, "value": v}
            for k, t, v in w.removed_identifiers
        ],
        "released_owners": [{"type": t, "value": v} for t, v in w.released_owners],
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
        "enrolments": [
            {
                "program_id": e.program_id,
                "tier_number": e.tier_number,
                "tier_expiry_date": e.tier_expiry_date,
            }
            for e in w.new_enrolments
        ],
        "credits": _credits(plan),
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
    if customer is None:
        changed = registered or bool(w.new_profiles or w.touched_profiles)
        customer = customer_row(plan, profiles=changed)
    return PlanRows(stamp, customer, parts, changes, plan.context, events)


def _credits(plan: Plan) -> list[dict[str, Any]]:
    """`points_ledger` rows: a program's credits of one write are numbered 0, 1, ... (`seq`)."""
    seen: dict[int, int] = {}
    rows = []
    for cr in plan.writes.credits:
        seq = seen.get(cr.program_id, 0)
        seen[cr.program_id] = seq + 1
        rows.append(
            {
                "program_id": cr.program_id,
                "points": cr.points,
                "expires_at": cr.expires_at,
                "seq": seq,
            }
        )
    return rows


def customer_row(plan: Plan, *, profiles: bool = True) -> dict[str, Any]:
    """The `customers` row's own columns (a registration inserts it first, to learn its id).

    `profiles`: whether the profiles list is written; when not, it is None (kept as stored).
    """
    c = plan.customer
    return {
        "loyalty_type": c.loyalty_type,
        "extended_fields": c.extended_fields,
        "profiles": profiles_doc.encode(c) if profiles else None,
    }
