"""The pure builder of change events: types, order, subjects, bodies, ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson

from patron.customers.events import (
    ENROLLED,
    EVENT_TYPES,
    POINTS_CREDITED,
    REGISTERED,
    STREAM,
    UPDATED,
    events_for,
    new_event_id,
    subject,
)
from patron.customers.model import Actor, Customer, Enrolment
from patron.customers.planner import Change, Credit, Plan, Writes

NOW = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def a_plan(*, enrolments: int = 0, credits: int = 0) -> Plan:
    """A plan of customer 42 at version 3, with one change and the given side writes."""
    customer = Customer(id=42, version=3, loyalty_type="loyalty")
    writes = Writes(
        new_enrolments=[Enrolment(1016 + n, 2, "2027-01-01") for n in range(enrolments)],
        credits=[Credit(1016, 10 * (n + 1), NOW) for n in range(credits)],
    )
    return Plan(customer, [Change("loyaltyType", "non_loyalty", "loyalty")], [], [], [], writes)


def build(plan: Plan, *, registered: bool, org: str = "acme") -> list[dict[str, object]]:
    events = events_for(
        plan,
        org_code=org,
        customer_id=42,
        request_id="req-1",
        actor=Actor("acme.till"),
        now=NOW,
        registered=registered,
    )
    return [{"subject": e.subject, "id": e.event_id, **orjson.loads(e.payload)} for e in events]


def test_stream_subjects_and_types() -> None:
    assert STREAM == "PATRON"
    assert EVENT_TYPES == (REGISTERED, UPDATED, ENROLLED, POINTS_CREDITED)
    assert subject("acme", UPDATED) == "patron.acme.customer.updated"


def test_a_dot_in_an_org_code_becomes_a_tilde() -> None:
    # `.` separates subject tokens; `~` cannot appear in an org code, so subjects stay distinct.
    assert subject("acme.in", REGISTERED) == "patron.acme~in.customer.registered"
    assert subject("acme.in", REGISTERED) != subject("acme-in", REGISTERED)


def test_registration_emits_registered_then_enrolments_then_credits() -> None:
    events = build(a_plan(enrolments=2, credits=1), registered=True)
    assert [e["type"] for e in events] == [REGISTERED, ENROLLED, ENROLLED, POINTS_CREDITED]
    assert [e["programId"] for e in events[1:3]] == [1016, 1017]
    assert events[3]["points"] == 10 and events[3]["expiresAt"] == "2026-03-01T12:30:00Z"


def test_update_emits_updated_with_its_changes_and_common_fields() -> None:
    (event,) = build(a_plan(), registered=False)
    assert event["type"] == UPDATED
    assert event["subject"] == "patron.acme.customer.updated"
    assert event["changes"] == [{"path": "loyaltyType", "old": "non_loyalty", "new": "loyalty"}]
    assert event["orgCode"] == "acme"
    assert event["customerId"] == 42
    assert event["version"] == 3
    assert event["at"] == "2026-03-01T12:30:00Z"
    assert event["requestId"] == "req-1"
    assert event["by"] == {"code": "acme.till", "type": "TILL"}


def test_every_event_has_its_own_uuid_matching_its_body() -> None:
    events = build(a_plan(enrolments=1, credits=2), registered=True)
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids)
    for e in events:
        assert e["eventId"] == e["id"]
        assert uuid.UUID(str(e["id"])).version == 4


def test_event_ids_are_random_version_4_uuids_in_their_hyphenated_form() -> None:
    ids = [new_event_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    ones = 0
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        ones |= parsed.int
    # Every bit but the six the version and the variant fix is set in some id: none is lost
    # to the masking.
    fixed = (0xF000 << 64) | (0xC000 << 48)
    assert ones | fixed == (1 << 128) - 1
    assert ones & fixed == (0x4000 << 64) | (0x8000 << 48)
