"""SPEC 5.4 in `resolve` on its own: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime

from patron.customers.requests import (
    ChannelReq,
    CustomerRequest,
    EnrolmentReq,
    IdentifierReq,
    ProfileReq,
)
from patron.customers.resolve import resolve
from patron.customers.resolved import Resolved
from patron.errors import Problems
from patron.orgs.model import DataType, FieldDef, OrgConfig, OrgId, Program, Tier

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
KEY = ("MOBILE_APP", "")

CONFIG = OrgConfig(
    org_id=OrgId("o"),
    name="O",
    default_country="IN",
    strict_fields=True,
    version=1,
    sources={"MOBILE_APP": (), "INSTORE": ()},
    extended_fields={
        "gender": FieldDef("gender", DataType.STANDARD_ENUM, ("Male", "Female")),
        "dob": FieldDef("dob", DataType.DATE),
        "seen": FieldDef("seen", DataType.DATETIME),
        "kids": FieldDef("kids", DataType.INTEGER),
    },
    programs={1016: Program(1016, "P", True, {1: Tier(1, "S"), 2: Tier(2, "G")})},
)


def _resolve(request: CustomerRequest) -> tuple[Resolved, Problems]:
    return resolve(request, CONFIG, default_key=KEY, now=NOW)


def _channel(type_: str, value: str = "tok", **keys: object) -> ChannelReq:
    return ChannelReq(
        type=type_,
        value=value,
        primary=None,
        verified=None,
        meta=keys.get("meta"),  # type: ignore[arg-type]
        last_viewed_date=keys.get("viewed"),  # type: ignore[arg-type]
        field="commChannels[0]",
    )


def _warnings(problems: Problems) -> list[tuple[int, str | None]]:
    return [(w.entry.code, w.field) for w in problems.warnings]


def test_resolve_reads_kind_names_in_any_case() -> None:
    request = CustomerRequest(
        loyalty_type="LOYALTY",
        loyalty_info_type="Loyalty",
        profiles=(
            ProfileReq(
                "mobile_app",
                None,
                identifiers=(IdentifierReq("cardNumber", "C-1", "profiles[0].identifiers[0]"),),
                channels=(_channel("MOBILEPUSH"),),
                field="profiles[0]",
            ),
        ),
    )
    out, problems = _resolve(request)
    assert problems.errors == []
    assert out.loyalty_type == "loyalty"
    assert [(i.type, i.value) for i in out.profiles[0].identifiers] == [("cardnumber", "C-1")]
    assert [c.type for c in out.profiles[0].channels] == ["mobilePush"]


def test_resolve_reads_whole_numbers_and_canonical_date_times() -> None:
    request = CustomerRequest(
        enrolments=(
            EnrolmentReq(
                "1016", 2.0, "75", "2027-02-11T16:36:17+0530", "2027-02-11T16:36:17.5Z", "e"
            ),
        ),
        extended_fields={"kids": "3", "seen": "2020-01-01 10:00+0100"},
    )
    out, problems = _resolve(request)
    assert problems.errors == []
    (e,) = out.enrolments
    assert (e.program_id, e.tier_number, e.points) == (1016, 2, 75)
    assert e.tier_expiry_date == "2027-02-11T16:36:17+05:30"
    assert e.points_expires_at == datetime(2027, 2, 11, 16, 36, 17, 500000, tzinfo=UTC)
    assert out.extended_fields == {"kids": 3, "seen": "2020-01-01T10:00:00+01:00"}


def test_resolve_reads_empty_optional_values_as_not_given() -> None:
    request = CustomerRequest(
        loyalty_type="",
        top=ProfileReq(None, None, channels=(_channel("mobilePush", viewed=""),)),
        extended_fields={"gender": "", "dob": "", "seen": ""},
        enrolments=(EnrolmentReq(1016, None, None, "", "", "e"),),
    )
    out, problems = _resolve(request)
    assert problems.errors == []
    assert out.loyalty_type is None
    assert out.extended_fields == {}
    assert out.profiles[0].channels[0].meta is None
    assert out.enrolments[0].tier_expiry_date is None
    assert sorted(_warnings(problems)) == [
        (8412, "commChannels[0].lastViewedDate"),
        (8412, "e.pointsExpiryDate"),
        (8412, "e.tierExpiryDate"),
        (8412, "extendedFields.dob"),
        (8412, "extendedFields.gender"),
        (8412, "extendedFields.seen"),
        (8412, "loyaltyType"),
    ]


def test_resolve_drops_last_viewed_date_off_mobile_push_without_reading_it() -> None:
    channel = _channel("email", "a@example.com", viewed="junk", meta={"lastViewedDate": 7, "k": 1})
    out, problems = _resolve(CustomerRequest(top=ProfileReq(None, None, channels=(channel,))))
    assert problems.errors == []
    assert out.profiles[0].channels[0].meta == {"k": 1}
    assert _warnings(problems) == [
        (8403, "commChannels[0].lastViewedDate"),
        (8403, "commChannels[0].meta.lastViewedDate"),
    ]


def test_resolve_refuses_date_times_without_offset_or_out_of_range() -> None:
    request = CustomerRequest(
        top=ProfileReq(
            None, None, channels=(_channel("mobilePush", viewed="2026-01-01T10:00:00"),)
        ),
        extended_fields={"seen": "9999-12-31T23:59:59-14:00", "dob": "0000-01-01"},
        enrolments=(EnrolmentReq(1016, None, 5, None, "9999-12-31T23:59:59-14:00", "e"),),
    )
    _, problems = _resolve(request)
    assert sorted((p.entry.code, p.field) for p in problems.errors) == [
        (8136, "commChannels[0].lastViewedDate"),
        (8138, "e.pointsExpiryDate"),
        (8138, "extendedFields.dob"),
        (8138, "extendedFields.seen"),
    ]
