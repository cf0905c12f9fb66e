"""SPEC 5.4 and 8: the pure readers of Capillary's spellings (`patron.customers.spelling`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from patron.customers.spelling import (
    BadDate,
    canonical_kind,
    parse_date,
    parse_date_or_datetime,
    parse_datetime,
    whole_number,
)
from patron.orgs.model import CHANNEL_TYPES, IDENTIFIER_TYPES, LOYALTY_TYPES, SOURCES

INVALID_DATE = 8136
DATE_OUT_OF_RANGE = 8138


@pytest.mark.parametrize(
    ("sent", "kinds", "canonical"),
    [
        ("cardNumber", IDENTIFIER_TYPES, "cardnumber"),
        ("CARDNUMBER", IDENTIFIER_TYPES, "cardnumber"),
        ("Mobile", IDENTIFIER_TYPES, "mobile"),
        ("EMAIL", IDENTIFIER_TYPES, "email"),
        ("externalid", IDENTIFIER_TYPES, "externalId"),
        ("cardexternalid", IDENTIFIER_TYPES, "cardExternalId"),
        (" unionid ", IDENTIFIER_TYPES, "unionId"),
        ("MOBILEPUSH", CHANNEL_TYPES, "mobilePush"),
        ("Email", CHANNEL_TYPES, "email"),
        ("LOYALTY", LOYALTY_TYPES, "loyalty"),
        ("Non_Loyalty", LOYALTY_TYPES, "non_loyalty"),
        ("mobile_app", SOURCES, "MOBILE_APP"),
    ],
)
def test_canonical_kind_matches_whatever_the_case(
    sent: str, kinds: tuple[str, ...], canonical: str
) -> None:
    assert canonical_kind(sent, kinds) == canonical


@pytest.mark.parametrize("sent", ["card number", "fax", "", "mobile_", "nonloyalty"])
def test_canonical_kind_of_an_unknown_name_is_none(sent: str) -> None:
    assert canonical_kind(sent, IDENTIFIER_TYPES + LOYALTY_TYPES) is None


def test_cardexternalid_is_one_identifier_type_and_no_two_types_differ_only_in_case() -> None:
    assert "cardExternalId" in IDENTIFIER_TYPES
    for kinds in (IDENTIFIER_TYPES, CHANNEL_TYPES, LOYALTY_TYPES, SOURCES):
        assert len({k.casefold() for k in kinds}) == len(kinds)


@pytest.mark.parametrize(
    ("sent", "number"),
    [(75, 75), (75.0, 75), ("75", 75), (" 1016 ", 1016), ("-3", -3), (0.0, 0), (10**15, 10**15)],
)
def test_whole_number_from_a_number_or_a_string_of_digits(sent: object, number: int) -> None:
    assert whole_number(sent) == number


@pytest.mark.parametrize(
    "sent", [75.5, "75.5", "75.0", "1e3", "", "seventy", True, False, None, float("inf"), [75]]
)
def test_whole_number_refuses_fractions_and_other_values(sent: object) -> None:
    assert whole_number(sent) is None


@pytest.mark.parametrize(
    ("sent", "text", "instant"),
    [
        (
            "2027-02-11T16:36:17+05:30",
            "2027-02-11T16:36:17+05:30",
            datetime(2027, 2, 11, 11, 6, 17, tzinfo=UTC),
        ),
        (
            "2027-02-11T16:36:17+0530",
            "2027-02-11T16:36:17+05:30",
            datetime(2027, 2, 11, 11, 6, 17, tzinfo=UTC),
        ),
        (
            "2027-02-11T16:36:17Z",
            "2027-02-11T16:36:17Z",
            datetime(2027, 2, 11, 16, 36, 17, tzinfo=UTC),
        ),
        (
            "2027-02-11T16:36:17.123Z",
            "2027-02-11T16:36:17.123Z",
            datetime(2027, 2, 11, 16, 36, 17, 123000, tzinfo=UTC),
        ),
        (
            "2027-02-11T16:36:17.123456789-0800",
            "2027-02-11T16:36:17.123456789-08:00",
            datetime(2027, 2, 12, 0, 36, 17, 123456, tzinfo=UTC),
        ),
        (
            "2027-02-11 16:36+01:00",
            "2027-02-11T16:36:00+01:00",
            datetime(2027, 2, 11, 15, 36, tzinfo=UTC),
        ),
        (
            "9999-12-31T23:59:59+14:00",
            "9999-12-31T23:59:59+14:00",
            datetime(9999, 12, 31, 9, 59, 59, tzinfo=UTC),
        ),
    ],
)
def test_parse_datetime_reads_offsets_and_fractions_and_spells_them_canonically(
    sent: str, text: str, instant: datetime
) -> None:
    parsed = parse_datetime(sent)
    assert parsed.text == text
    assert parsed.instant == instant
    assert parsed.instant.utcoffset() is not None


def test_parse_datetime_keeps_the_offset_it_was_written_with() -> None:
    assert parse_datetime("2027-02-11T16:36:17+0530").instant.utcoffset() == timedelta(
        hours=5, minutes=30
    )
    assert parse_datetime("2027-02-11T16:36:17Z").instant.tzinfo == UTC


@pytest.mark.parametrize(
    "sent",
    [
        "2027-02-11T16:36:17",  # no offset: its instant is unknown
        "2027-02-11",
        "11-02-2027T16:36:17Z",
        "2027-02-30T16:36:17Z",
        "2027-02-11T24:00:00Z",
        "2027-02-11T16:36:17+24:00",
        "2027-02-11T16:36:17+5:30",
        "2027-02-11T16:36:17.Z",
        "yesterday",
        "",
    ],
)
def test_parse_datetime_refuses_what_is_not_a_date_time_with_an_offset(sent: str) -> None:
    with pytest.raises(BadDate) as caught:
        parse_datetime(sent, "tierExpiryDate")
    assert caught.value.entry.code == INVALID_DATE
    assert "tierExpiryDate" in caught.value.message


@pytest.mark.parametrize(
    "sent",
    [
        "9999-12-31T23:59:59-14:00",  # year 10000 in UTC
        "9999-12-31T23:00:00-01:00",
        "0001-01-01T00:00:00+05:30",  # year 0 in UTC
        "0000-06-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
    ],
)
def test_parse_datetime_refuses_instants_outside_years_1_to_9999_utc(sent: str) -> None:
    with pytest.raises(BadDate) as caught:
        parse_datetime(sent, "pointsExpiryDate")
    assert caught.value.entry.code == DATE_OUT_OF_RANGE


def test_parse_datetime_accepts_the_edges_of_the_range() -> None:
    assert parse_datetime("9999-12-31T23:59:59Z").instant.year == 9999
    assert parse_datetime("0001-01-01T00:00:00Z").instant.year == 1
    assert parse_datetime("0001-01-01T00:00:00-05:30").instant.year == 1


def test_parse_date_reads_a_calendar_date_in_range() -> None:
    assert parse_date("2019-10-25") == date(2019, 10, 25)
    assert parse_date(" 0001-01-01 ") == date(1, 1, 1)
    for bad, code in (
        ("2019-02-30", INVALID_DATE),
        ("25-10-2019", INVALID_DATE),
        ("0000-01-01", DATE_OUT_OF_RANGE),
        ("10000-01-01", DATE_OUT_OF_RANGE),
    ):
        with pytest.raises(BadDate) as caught:
            parse_date(bad)
        assert caught.value.entry.code == code, bad


def test_parse_date_or_datetime_as_last_viewed_date_may_be() -> None:
    assert parse_date_or_datetime("2019-10-25", "lastViewedDate") == "2019-10-25"
    assert (
        parse_date_or_datetime("2019-10-10T22:04:38+0530", "lastViewedDate")
        == "2019-10-10T22:04:38+05:30"
    )
    with pytest.raises(BadDate):
        parse_date_or_datetime("2019-10-10T22:04:38", "lastViewedDate")
