"""The planner on its own: pure functions, no database (SPEC 6 as a function)."""

from __future__ import annotations

from datetime import UTC, datetime

from patron.customers.model import Actor, Channel, Customer, Holder, Profile
from patron.customers.planner import Plan, plan
from patron.customers.requests import (
    ChannelReq,
    CustomerRequest,
    EnrolmentReq,
    IdentifierReq,
    ProfileReq,
)
from patron.customers.resolve import resolve
from patron.orgs.model import DataType, FieldDef, OrgConfig, OrgId, Program, Tier

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ACTOR = Actor("t1")
KEY = ("INSTORE", "")

CONFIG = OrgConfig(
    org_id=OrgId("o"),
    name="O",
    default_country="IN",
    strict_fields=True,
    version=1,
    sources={"INSTORE": (), "WECHAT": ("wc",)},
    extended_fields={"city": FieldDef("city", DataType.STRING)},
    custom_fields={"employee": FieldDef("employee", DataType.STRING)},
    programs={7: Program(7, "P", True, {1: Tier(1, "S"), 2: Tier(2, "G")})},
)


def stored() -> Customer:
    c = Customer(id=5, version=3, loyalty_type="non_loyalty", extended_fields={"city": "Pune"})
    p = Profile(
        "INSTORE",
        "",
        first_name="Tom",
        identifiers=[("mobile", "919999000001")],
        channels=[Channel("email", "a@example.com", primary=True)],
    )
    c.profiles[KEY] = p
    return c


def run(
    request: CustomerRequest,
    customer: Customer | None = None,
    holders: dict[tuple[str, str], list[Holder]] | None = None,
) -> Plan:
    resolved, problems = resolve(request, CONFIG, default_key=KEY if customer else None, now=NOW)
    return plan(customer, resolved, problems, CONFIG, holders=holders or {}, now=NOW, actor=ACTOR)


def test_plan_is_pure_and_leaves_the_stored_customer_alone() -> None:
    customer = stored()
    p = run(CustomerRequest(profiles=(ProfileReq(None, None, first_name="Tim"),)), customer)
    assert [c.to_wire() for c in p.changes] == [
        {"path": "profiles[INSTORE].firstName", "old": "Tom", "new": "Tim"}
    ]
    assert customer.profiles[KEY].first_name == "Tom"
    assert p.customer.profiles[KEY].first_name == "Tim"
    assert p.customer.version == 4


def test_no_change_means_no_version_bump_and_no_writes() -> None:
    customer = stored()
    p = run(
        CustomerRequest(
            profiles=(ProfileReq(None, None, first_name=" Tom "),), extended_fields={"city": "Pune"}
        ),
        customer,
    )
    assert p.changes == [] and p.customer.version == 3
    assert p.writes.touched_profiles == [] and p.writes.new_profiles == []


def test_identifier_held_by_another_customer_in_same_profile_key() -> None:
    req = CustomerRequest(
        profiles=(
            ProfileReq(None, None, identifiers=(IdentifierReq("email", "x@example.com", "p"),)),
        )
    )
    p = run(req, stored(), {("email", "x@example.com"): [Holder("INSTORE", "", 9)]})
    assert [e.entry.code for e in p.errors] == [8008]
    p = run(req, stored(), {("email", "x@example.com"): [Holder("WECHAT", "wc", 9)]})
    assert [e.entry.code for e in p.errors] == [8053]
    p = run(req, stored(), {("email", "x@example.com"): [Holder("WECHAT", "wc", 5)]})
    assert p.errors == [] and p.writes.new_identifiers == [(KEY, "email", "x@example.com")]


def test_primary_moves_within_a_type() -> None:
    req = CustomerRequest(
        top=ProfileReq(
            None,
            None,
            channels=(
                ChannelReq("email", "b@example.com", True, None, None, None, "commChannels[0]"),
            ),
        )
    )
    p = run(req, stored())
    paths = [c.path for c in p.changes]
    assert paths == [
        "profiles[INSTORE].commChannels[email:b@example.com]",
        "profiles[INSTORE].commChannels[email:a@example.com].primary",
    ]
    assert [
        (c.value, c.primary) for c in p.customer.profiles[KEY].channels if c.type == "email"
    ] == [
        ("a@example.com", False),
        ("b@example.com", True),
    ]
    assert p.writes.touched_profiles == [KEY]


def test_registration_plans_from_nothing() -> None:
    req = CustomerRequest(
        loyalty_type="loyalty",
        profiles=(
            ProfileReq("INSTORE", None, identifiers=(IdentifierReq("mobile", 9999000001, "p"),)),
        ),
    )
    p = run(req)
    assert p.errors == []
    assert p.customer.version == 1
    assert list(p.customer.enrolments) == [7]  # the default program
    assert p.changes[0].to_wire() == {"path": "loyaltyType", "old": None, "new": "loyalty"}


def test_enrolment_points_side_effect_and_already_enrolled() -> None:
    req = CustomerRequest(enrolments=(EnrolmentReq(7, 2, 75, None, None, "e[0]"),))
    p = run(req, stored())
    assert p.side_effects == [{"type": "points", "awardedPoints": 75, "programId": 7}]
    assert p.customer.loyalty_type == "loyalty"
    again = run(req, p.customer)
    assert [e.entry.code for e in again.errors] == [8152]


def test_replanning_an_applied_update_changes_nothing() -> None:
    req = CustomerRequest(
        profiles=(
            ProfileReq(
                None,
                None,
                first_name="Tim",
                fields={"employee": "yes"},
                identifiers=(IdentifierReq("email", "T@example.com", "p"),),
            ),
        ),
        extended_fields={"city": None},
        top=ProfileReq(
            None,
            None,
            channels=(ChannelReq("mobile", "+919999000001", False, True, {"k": 1}, None, "c"),),
        ),
    )
    first = run(req, stored())
    assert first.errors == [] and first.changes
    second = run(req, first.customer)
    assert second.changes == []
