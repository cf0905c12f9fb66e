"""SPEC 5.3: normalising identifier and channel values (pure functions)."""

from __future__ import annotations

import pytest

from patron.customers.normalise import InvalidValue, channel_value, identifier_value


@pytest.mark.parametrize(
    "raw", ["+91 99990-00001", "919999000001", "9999000001", 9999000001, 919999000001]
)
def test_mobile_forms_all_normalise_to_digits_with_country_code(raw: str | int) -> None:
    assert identifier_value("mobile", raw, "IN") == "919999000001"
    assert channel_value("mobile", raw, "IN") == "919999000001"


def test_mobile_uses_the_orgs_default_country() -> None:
    assert identifier_value("mobile", "(650) 253-0000", "US") == "16502530000"


@pytest.mark.parametrize("raw", ["12", "abc", "+0 000", "", "9" * 40])
def test_invalid_mobile_codes(raw: str) -> None:
    with pytest.raises(InvalidValue) as ident:
        identifier_value("mobile", raw, "IN")
    assert ident.value.entry.code == 8056
    with pytest.raises(InvalidValue) as chan:
        channel_value("mobile", raw, "IN")
    assert chan.value.entry.code == 8058


def test_email_is_trimmed_and_lower_cased() -> None:
    assert identifier_value("email", "  Tom.Sawyer@Example.COM ", "IN") == "tom.sawyer@example.com"


@pytest.mark.parametrize("raw", ["tom", "tom@", "@example.com", "a b@example.com", "tom@example"])
def test_invalid_email_codes(raw: str) -> None:
    with pytest.raises(InvalidValue) as ident:
        identifier_value("email", raw, "IN")
    assert ident.value.entry.code == 8055
    with pytest.raises(InvalidValue) as chan:
        channel_value("email", raw, "IN")
    assert chan.value.entry.code == 8057


def test_other_types_are_trimmed_and_1_to_150_characters() -> None:
    assert identifier_value("externalId", "  EXT-1 ", "IN") == "EXT-1"
    assert identifier_value("cardnumber", 12345, "IN") == "12345"
    assert identifier_value("externalId", "x" * 150, "IN") == "x" * 150
    for bad in ("", "   ", "x" * 151):
        with pytest.raises(InvalidValue) as exc:
            identifier_value("externalId", bad, "IN")
        assert exc.value.entry.code == 8132
        with pytest.raises(InvalidValue) as chan:
            channel_value("wechat", bad, "IN")
        assert chan.value.entry.code == 8133
