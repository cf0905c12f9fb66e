"""`rows_of` on its own: the rows a plan writes, per table, with no database."""

from __future__ import annotations

from patron.customers.events import ENROLLED, POINTS_CREDITED, REGISTERED, UPDATED
from patron.customers.requests import (
    ChannelReq,
    CustomerRequest,
    EnrolmentReq,
    IdentifierReq,
    ProfileReq,
)
from patron.customers.rows import PARTS, Stamp, rows_of
from patron.orgs.model import OrgId
from tests.customers.test_planner import ACTOR, KEY, NOW, run, stored

STAMP = Stamp(OrgId("o"), 5, 4, NOW, ACTOR, "req-1")


def test_registration_rows_name_every_new_row_once() -> None:
    channel = ChannelReq("email", "b@example.com", True, None, None, None, "commChannels[0]")
    p = run(
        CustomerRequest(
            profiles=(
                ProfileReq(
                    "INSTORE",
                    None,
                    first_name="Ann",
                    identifiers=(IdentifierReq("mobile", "919999000002", "p"),),
                    channels=(channel,),
                ),
            ),
            enrolments=(EnrolmentReq(7, 2, 75, None, None, "e[0]"),),
        )
    )
    assert p.errors == []
    rows = rows_of(p, STAMP, registered=True)
    assert set(rows.parts) == set(PARTS)
    assert [(r["type"], r["value"], r["position"]) for r in rows.parts["identifiers"]] == [
        ("mobile", "919999000002", 0)
    ]
    assert [(r["program_id"], r["tier_number"]) for r in rows.parts["enrolments"]] == [(7, 2)]
    assert [(r["program_id"], r["points"]) for r in rows.parts["credits"]] == [(7, 75)]
    assert rows.customer == {
        "loyalty_type": "loyalty",
        "extended_fields": {},
        "profiles": [
            {
                "source": "INSTORE",
                "account_id": "",
                "first_name": "Ann",
                "last_name": None,
                "fields": {},
                "created_at": "2026-11-28T10:00:00+00:00",
                "created_by": "t1",
                "created_by_type": "TILL",
                "modified_at": "2026-11-28T10:00:00+00:00",
                "modified_by": "t1",
                "modified_by_type": "TILL",
                "channels": [
                    {
                        "type": "email",
                        "value": "b@example.com",
                        "is_primary": True,
                        "verified": False,
                        "meta": {},
                    }
                ],
            }
        ],
    }
    assert rows.changes == [c.to_wire() for c in p.changes]
    assert [e.subject.split(".", 2)[2] for e in rows.events] == [
        REGISTERED,
        ENROLLED,
        POINTS_CREDITED,
    ]


def test_update_rows_touch_only_what_changed() -> None:
    customer = stored()
    p = run(CustomerRequest(profiles=(ProfileReq(None, None, first_name="Tim"),)), customer)
    rows = rows_of(p, STAMP, registered=False)
    [profile] = rows.customer["profiles"]
    assert (profile["source"], profile["account_id"], profile["first_name"]) == (*KEY, "Tim")
    assert profile["modified_at"] == NOW.isoformat() and profile["modified_by"] == ACTOR.code
    assert all(rows.parts[name] == [] for name in PARTS)
    assert [e.subject.split(".", 2)[2] for e in rows.events] == [UPDATED]
    assert rows.stamp is STAMP


def test_an_update_that_changes_no_profile_keeps_the_stored_profiles() -> None:
    p = run(CustomerRequest(extended_fields={"city": "Delhi"}), stored())
    assert p.changes
    rows = rows_of(p, STAMP, registered=False)
    assert rows.customer["profiles"] is None
    assert rows.customer["extended_fields"]["city"] == "Delhi"
