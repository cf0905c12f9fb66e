"""The points domain on its own: from ledger sums and credits to SPEC 10.3 entries (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from patron.customers.model import Enrolment
from patron.customers.points import (
    Credit,
    LedgerSums,
    expiry_schedule,
    loyalty_entries,
    loyalty_entry,
    summary_program,
    with_mlp,
    with_points_summary,
)
from patron.orgs.model import OrgConfig, OrgId, Program, Tier

# Tier numbers with a gap: the next tier is the next one configured, not number + 1.
CONFIG = OrgConfig(
    org_id=OrgId("o"),
    name="O",
    default_country="IN",
    strict_fields=True,
    version=1,
    sources={"INSTORE": ()},
    programs={
        7: Program(
            7, "Main", True, {1: Tier(1, "Silver"), 2: Tier(2, "Gold"), 5: Tier(5, "Black")}
        ),
        9: Program(9, "Kids", False, {1: Tier(1, "Starter")}),
    },
)


def test_points_entry_from_sums() -> None:
    entry = loyalty_entry(
        Enrolment(7, 2, "2099-01-01T00:00:00+05:30"), LedgerSums(7, 100, 25), CONFIG
    )
    assert entry == {
        "programId": 7,
        "loyaltyPoints": 75.0,
        "lifetimePoints": 100.0,
        "expired": 25.0,
        "redeemed": 0.0,
        "returned": 0.0,
        "adjusted": 0.0,
        "cumulativePurchases": 0.0,
        "currentSlab": "Gold",
        "slabSNo": 2,
        "slabExpiryDate": "2099-01-01T00:00:00+05:30",
        "nextSlab": "Black",
        "nextSlabSerialNumber": 5,
        "nextSlabDescription": "Black",
    }


def test_points_entry_without_credits_is_zero() -> None:
    entry = loyalty_entry(Enrolment(7, 1), None, CONFIG)
    assert (entry["loyaltyPoints"], entry["lifetimePoints"], entry["expired"]) == (0.0, 0.0, 0.0)
    assert entry["slabExpiryDate"] is None


def test_points_entry_at_top_tier() -> None:
    entry = loyalty_entry(Enrolment(7, 5, ""), LedgerSums(7, 3, 0), CONFIG)
    assert (entry["nextSlab"], entry["nextSlabDescription"], entry["nextSlabSerialNumber"]) == (
        "",
        "",
        -1,
    )
    assert entry["slabExpiryDate"] is None


def test_points_entries_in_program_order() -> None:
    entries = loyalty_entries([Enrolment(9, 1), Enrolment(7, 1)], {9: LedgerSums(9, 4, 1)}, CONFIG)
    assert [(e["programId"], e["loyaltyPoints"]) for e in entries] == [(7, 0.0), (9, 3.0)]


def test_points_summary_program() -> None:
    assert summary_program([7, 9], CONFIG) == 7
    assert summary_program([9], CONFIG) == 9
    assert summary_program([], CONFIG) is None
    no_default = OrgConfig(
        OrgId("n"), "N", "IN", True, 1, {}, programs={
            1: Program(1, "A", False, {1: Tier(1, "a")}),
            2: Program(2, "B", False, {1: Tier(1, "b")}),
        }
    )  # fmt: skip
    assert summary_program([1, 2], no_default) is None


def test_points_embeds_change_details() -> None:
    entries = loyalty_entries([Enrolment(7, 2)], {7: LedgerSums(7, 10, 0)}, CONFIG)
    details = {"loyaltyProgramDetails": [{"programId": 7, "tierNumber": 2, "loyaltyPoints": 10}]}
    with_mlp(details, entries)
    with_points_summary(details, entries, CONFIG)
    assert details["loyaltyProgramDetails"][0]["tierNumber"] == 2
    assert details["loyaltyProgramDetails"][0]["loyaltyPoints"] == 10.0
    assert details["loyaltyProgramDetails"][0]["nextSlab"] == "Black"
    assert details["pointsSummary"] == entries[0]


def test_points_expiry_schedule_groups_by_utc_day_and_program() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    late = datetime(2099, 3, 2, 2, 0, tzinfo=ist)  # 2099-03-01 20:30 UTC
    credits = [
        Credit(9, 4, datetime(2099, 3, 1, 1, 0, tzinfo=UTC)),
        Credit(7, 2, datetime(2099, 5, 1, tzinfo=UTC)),
        Credit(7, 3, late),
        Credit(7, 1, datetime(2099, 3, 1, 23, 0, tzinfo=UTC)),
    ]
    assert [(s["expiryDate"], s["programId"], s["points"]) for s in expiry_schedule(credits)] == [
        ("2099-03-01", 7, 4.0),
        ("2099-03-01", 9, 4.0),
        ("2099-05-01", 7, 2.0),
    ]
