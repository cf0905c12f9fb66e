"""`profiles_doc`: the stored list of a customer's profiles, on its own (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson

from patron.customers import profiles_doc
from patron.customers.model import Actor, Channel, Customer, Profile


def _customer() -> Customer:
    c = Customer(id=1, version=2, loyalty_type="loyalty")
    india = timezone(timedelta(hours=5, minutes=30))
    c.profiles[("WECHAT", "wc")] = Profile(
        "WECHAT",
        "wc",
        first_name="Tom",
        fields={"employee": "true"},
        identifiers=[("wechat", "w1")],
        channels=[
            Channel("email", "b@example.com", True, False, {"note": 1}),
            Channel("email", "a@example.com"),
        ],
        created_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=india),
        created_by=Actor("t1"),
        modified_at=datetime(2026, 2, 3, tzinfo=UTC),
        modified_by=Actor("ann", "CONSOLE_USER"),
    )
    c.profiles[("INSTORE", "")] = Profile("INSTORE", "", last_name="Roy")
    return c


def test_a_customer_reads_back_as_written_but_for_identifiers() -> None:
    original = _customer()
    stored = orjson.loads(orjson.dumps(profiles_doc.encode(original)))
    back = Customer(id=1, version=2, loyalty_type="loyalty")
    profiles_doc.decode(stored, back)
    assert list(back.profiles) == [("WECHAT", "wc"), ("INSTORE", "")]
    wechat = back.profiles[("WECHAT", "wc")]
    assert wechat.identifiers == []  # identifiers live in their own tables
    wechat.identifiers = [("wechat", "w1")]
    assert wechat == original.profiles[("WECHAT", "wc")]


def test_times_are_stored_in_utc_and_channels_in_order() -> None:
    [wechat, instore] = profiles_doc.encode(_customer())
    assert wechat["created_at"] == "2026-01-01T21:34:05.000006+00:00"
    assert [c["value"] for c in wechat["channels"]] == ["b@example.com", "a@example.com"]
    assert instore["channels"] == [] and instore["created_at"] is None
