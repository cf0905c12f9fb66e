"""What a change event says and where it is published. Pure: no I/O.

One write produces its events from the same plan that produces its history entry, so an event
never says something the database does not hold: one `customer.registered` or
`customer.updated` (with the list of changes), plus one `customer.enrolled` per new enrolment
and one `customer.points_credited` per points credit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from patron.customers.model import Actor
from patron.customers.planner import Plan

STREAM = "PATRON"
"""The JetStream stream that holds every event."""

SUBJECT_PREFIX = "patron"
"""Every subject is `patron.<org>.<type>`; the stream listens on `patron.>`."""

REGISTERED = "customer.registered"
UPDATED = "customer.updated"
ENROLLED = "customer.enrolled"
POINTS_CREDITED = "customer.points_credited"

EVENT_TYPES = (REGISTERED, UPDATED, ENROLLED, POINTS_CREDITED)
"""Every event type, in the order one write emits them."""


@dataclass(frozen=True, slots=True)
class Event:
    """One outbox row: the id subscribers de-duplicate on, its subject and its JSON body."""

    event_id: str
    subject: str
    payload: str

    def __reduce__(self) -> tuple[type[Event], tuple[str, str, str]]:
        # Import batches send their events between processes: a frozen dataclass with slots
        # pickles through `dataclasses.fields()` per object, several times slower than this.
        return (Event, (self.event_id, self.subject, self.payload))


def subject(org_code: str, event_type: str) -> str:
    """`patron.<org>.<type>`; a `.` of the org code is written `~` (a NATS subject separates
    tokens with `.`, and `~` is not allowed in org codes, so no two orgs share a subject)."""
    return f"{SUBJECT_PREFIX}.{org_code.replace('.', '~')}.{event_type}"


_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)
_NOT_VERSION = ~((0xF000 << 64) | (0xC000 << 48))


def new_event_id() -> str:
    """A random UUID (version 4, RFC 9562) in its hyphenated form: `str(uuid.uuid4())` without
    building the `UUID` object, in half the time (an import makes one per event)."""
    h = f"{int.from_bytes(os.urandom(16)) & _NOT_VERSION | _VERSION_4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def events_for(
    plan: Plan,
    *,
    org_code: str,
    customer_id: int,
    request_id: str,
    actor: Actor,
    now: datetime,
    registered: bool,
    changes: list[dict[str, Any]] | None = None,
) -> list[Event]:
    """The events of an applied plan (the caller knows the customer's id once it is stored).

    `changes` is the plan's changes in wire form when the caller has built them already (for the
    history entry), so they are not built twice."""
    c = plan.customer
    if changes is None:
        changes = [ch.to_wire() for ch in plan.changes]
    common: dict[str, Any] = {
        "orgCode": org_code,
        "customerId": customer_id,
        "version": c.version,
        "at": _timestamp(now),
        "requestId": request_id,
        "by": {"code": actor.code, "type": actor.type},
    }
    main: dict[str, Any] = {"loyaltyType": c.loyalty_type, "changes": changes}
    if plan.context is not None:
        main["context"] = plan.context  # a consent change's provenance, as its history records
    bodies: list[tuple[str, dict[str, Any]]] = [(REGISTERED if registered else UPDATED, main)]
    bodies += [
        (
            ENROLLED,
            {
                "programId": e.program_id,
                "tierNumber": e.tier_number,
                "tierExpiryDate": e.tier_expiry_date,
            },
        )
        for e in plan.writes.new_enrolments
    ]
    bodies += [
        (
            POINTS_CREDITED,
            {
                "programId": cr.program_id,
                "points": cr.points,
                "expiresAt": _timestamp(cr.expires_at),
            },
        )
        for cr in plan.writes.credits
    ]
    events = []
    for event_type, body in bodies:
        event_id = new_event_id()
        payload = {"eventId": event_id, "type": event_type, **common, **body}
        events.append(
            Event(event_id, subject(org_code, event_type), orjson.dumps(payload).decode())
        )
    return events
