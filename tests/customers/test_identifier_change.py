"""The changeIdentifier planner on its own: pure functions, no database (SPEC 10.1)."""

from __future__ import annotations

from patron.customers.identifier_change import plan_change, resolve_change
from patron.customers.model import Customer, Holder, Profile
from patron.customers.planner import Plan
from patron.customers.requests import IdentifierChangeRequest, IdentifierReq
from patron.customers.rows import rows_of
from tests.customers.test_planner import ACTOR, CONFIG, KEY, NOW, stored
from tests.customers.test_rows import STAMP

WECHAT = ("WECHAT", "wc")


def _req(
    add: tuple[tuple[str, str | int], ...] = (), remove: tuple[tuple[str, str | int], ...] = ()
) -> IdentifierChangeRequest:
    return IdentifierChangeRequest(
        add=tuple(IdentifierReq(t, v, f"add[{n}]") for n, (t, v) in enumerate(add)),
        remove=tuple(IdentifierReq(t, v, f"remove[{n}]") for n, (t, v) in enumerate(remove)),
    )


def run(
    request: IdentifierChangeRequest,
    customer: Customer | None = None,
    key: tuple[str, str] = KEY,
    holders: dict[tuple[str, str], list[Holder]] | None = None,
) -> Plan:
    change, problems = resolve_change(request, CONFIG)
    return plan_change(
        customer or stored(), key, change, problems, holders=holders or {}, now=NOW, actor=ACTOR
    )


def test_plan_is_pure_and_removes_before_adds() -> None:
    customer = stored()
    p = run(
        _req(add=(("mobile", "+91 99990 00002"),), remove=(("mobile", "9999000001"),)), customer
    )
    assert p.errors == []
    assert customer.profiles[KEY].identifiers == [("mobile", "919999000001")]
    assert p.customer.profiles[KEY].identifiers == [("mobile", "919999000002")]
    assert p.customer.version == customer.version + 1
    assert [(c.path, c.old, c.new) for c in p.changes] == [
        (
            "profiles[INSTORE].identifiers[mobile:919999000001]",
            {"type": "mobile", "value": "919999000001"},
            None,
        ),
        (
            "profiles[INSTORE].identifiers[mobile:919999000002]",
            None,
            {"type": "mobile", "value": "919999000002"},
        ),
    ]
    assert p.writes.released_owners == [("mobile", "919999000001")]
    assert p.writes.new_owners == [("mobile", "919999000002")]
    assert p.writes.touched_profiles == [KEY]


def test_owner_rows_follow_the_customer_not_the_profile() -> None:
    customer = stored()
    customer.profiles[WECHAT] = Profile("WECHAT", "wc", identifiers=[("email", "a@example.com")])
    # Moving a value from one profile to another keeps the customer its owner: no owner row
    # is written or freed, only identifier rows.
    moved = run(_req(add=(("mobile", "919999000001"),)), customer, WECHAT)
    assert moved.writes.new_owners == []
    dropped = run(_req(remove=(("email", "a@example.com"),)), customer, WECHAT)
    assert dropped.writes.released_owners == [("email", "a@example.com")]
    rows = rows_of(dropped, STAMP, registered=False)
    assert rows.parts["removed_identifiers"] == [
        {"source": "WECHAT", "account_id": "wc", "type": "email", "value": "a@example.com"}
    ]
    assert rows.parts["released_owners"] == [{"type": "email", "value": "a@example.com"}]


def test_a_value_stored_before_normalisation_is_removed_by_its_exact_text() -> None:
    customer = stored()
    customer.profiles[KEY].identifiers.append(("mobile", "12"))
    p = run(_req(remove=(("mobile", "12"),)), customer)
    assert p.errors == []
    assert p.customer.profiles[KEY].identifiers == [("mobile", "919999000001")]


def test_rule_4_for_adds_and_nothing_planned_on_errors() -> None:
    holders = {
        ("email", "a@example.com"): [Holder("INSTORE", "", 9)],
        ("email", "b@example.com"): [Holder("WECHAT", "wc", 9)],
        ("mobile", "919999000001"): [Holder("INSTORE", "", 5)],  # the customer itself
    }
    p = run(_req(add=(("email", "a@example.com"), ("email", "b@example.com"))), holders=holders)
    assert [(e.entry.code, e.field) for e in p.errors] == [
        (8008, "add[0].value"),
        (8053, "add[1].value"),
    ]
    assert p.changes == []
    assert p.writes.new_identifiers == []


def test_the_last_identifier_and_an_empty_request_are_refused() -> None:
    assert [e.entry.code for e in run(_req(remove=(("mobile", "919999000001"),))).errors] == [8201]
    assert [e.entry.code for e in run(_req()).errors] == [8202]


def test_a_missing_profile_is_created_only_for_adds() -> None:
    p = run(_req(add=(("wechat", "wx"),)), key=WECHAT)
    assert p.writes.new_profiles == [WECHAT]
    assert p.changes[0].path == "profiles[WECHAT/wc]"
    refused = run(_req(remove=(("wechat", "wx"),)), key=WECHAT)
    assert [(e.entry.code, e.field) for e in refused.errors] == [(8200, "remove[0]")]
