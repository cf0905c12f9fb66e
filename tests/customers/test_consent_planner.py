"""The consent domain on its own (SPEC 10.2): checking a request and planning it, no database."""

from __future__ import annotations

from dataclasses import replace

from patron import errors
from patron.customers.consent import (
    ConsentRequest,
    SubscriptionReq,
    listed,
    plan_consent,
    resolve_consent,
)
from patron.customers.events import UPDATED
from patron.customers.planner import Plan
from patron.customers.rows import Stamp, rows_of
from patron.orgs.model import OrgId
from tests.customers.test_planner import ACTOR, CONFIG, NOW, stored


def _entry(i: int, channel: str, priority: str, type_: str, **keys: str) -> SubscriptionReq:
    return SubscriptionReq(
        channel, priority, type_, keys.get("source"), keys.get("account"), f"subscriptions[{i}]"
    )


def _plan(
    *entries: SubscriptionReq, stored_states: dict[tuple[str, str], str] | None = None
) -> Plan:
    resolved, problems = resolve_consent(ConsentRequest(entries, reason="why"), CONFIG)
    return plan_consent(stored(), stored_states or {}, resolved, problems, CONFIG, now=NOW)


def test_consent_plan_changes_only_pairs_whose_state_changes() -> None:
    customer = stored()
    p = _plan(
        _entry(0, "email", "Bulk", "optout"),
        _entry(1, "mobile", "TRANS", "OPTIN"),
        _entry(2, "WECHAT", "TRANS", "OPTIN"),
        stored_states={("WECHAT", "TRANS"): "OPTOUT"},
    )
    assert p.errors == []
    assert [c.to_wire() for c in p.changes] == [
        {"path": "subscriptions[EMAIL:BULK]", "old": "OPTIN", "new": "OPTOUT"},
        {"path": "subscriptions[WECHAT:TRANS]", "old": "OPTOUT", "new": "OPTIN"},
    ]
    assert p.writes.subscriptions == [("EMAIL", "BULK", "OPTOUT"), ("WECHAT", "TRANS", "OPTIN")]
    assert p.customer.version == customer.version + 1 and p.customer.modified_at == NOW
    assert p.context is not None and p.context["reason"] == "why"


def test_consent_plan_that_changes_nothing_keeps_the_version() -> None:
    p = _plan(_entry(0, "SMS", "BULK", "OPTIN"))
    assert p.errors == [] and p.changes == [] and not p.changed
    assert p.customer.version == stored().version


def test_consent_plan_starts_from_the_orgs_defaults() -> None:
    config = replace(CONFIG, subscription_defaults={"TRANS": "OPTIN", "BULK": "OPTOUT"})
    resolved, problems = resolve_consent(
        ConsentRequest((_entry(0, "SMS", "BULK", "OPTOUT"), _entry(1, "SMS", "TRANS", "OPTOUT"))),
        config,
    )
    p = plan_consent(stored(), {}, resolved, problems, config, now=NOW)
    assert [c.path for c in p.changes] == ["subscriptions[SMS:TRANS]"]
    assert listed({}, config)[:2] == [
        {"channel": "SMS", "priority": "TRANS", "type": "OPTIN"},
        {"channel": "SMS", "priority": "BULK", "type": "OPTOUT"},
    ]


def test_consent_problems_name_each_item_and_plan_nothing() -> None:
    p = _plan(
        _entry(0, "EMAIL", "BULK", "OPTOUT"),
        _entry(1, "FAX", "BULK", "OPTOUT"),
        _entry(2, "sms", "bulk", "OPTIN"),
        _entry(3, "mobile", "BULK", "OPTIN"),
        _entry(4, "LINE", "BULK", "OPTIN", source="WECHAT", account="nope"),
    )
    assert [(e.entry, e.field) for e in p.errors] == [
        (errors.INVALID_SUBSCRIPTION, "subscriptions[1].channel"),
        (errors.DUPLICATE_SUBSCRIPTION, "subscriptions[3]"),
        (errors.UNKNOWN_ACCOUNT, "subscriptions[4].accountId"),
    ]
    assert p.changes == [] and p.writes.subscriptions == []


def test_consent_rows_upsert_the_states_and_carry_the_provenance() -> None:
    p = _plan(_entry(0, "EMAIL", "BULK", "OPTOUT", source="wechat", account="wc"))
    rows = rows_of(p, Stamp(OrgId("o"), 5, 4, NOW, ACTOR, "req-1"), registered=False)
    assert rows.parts["subscriptions"] == [
        {"channel": "EMAIL", "priority": "BULK", "type": "OPTOUT"}
    ]
    assert rows.context == {
        "reason": "why",
        "campaignId": None,
        "communicationId": None,
        "subscriptions": [
            {
                "channel": "EMAIL",
                "priority": "BULK",
                "type": "OPTOUT",
                "sourceName": "WECHAT",
                "accountId": "wc",
            }
        ],
    }
    assert [e.subject.split(".", 2)[2] for e in rows.events] == [UPDATED]
    assert all(rows.parts[part] == [] for part in rows.parts if part != "subscriptions")
