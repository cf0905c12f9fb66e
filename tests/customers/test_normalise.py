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


# --- look-alike values are one value (SPEC 5.3) ----------------------------------------------


@pytest.mark.parametrize(
    ("id_type", "forms", "stored"),
    [
        ("externalId", ["ab", "a\u200bb", "ab\u200b", "ab\ufeff", "\uff41\uff42"], "ab"),
        ("externalId", ["caf\u00e9", "cafe\u0301", " cafe\u0301\u200b "], "caf\u00e9"),
        (
            "cardnumber",
            ["12345678", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18"],
            "12345678",
        ),
        (
            "mobile",
            [
                "+91 99990-00001",
                "\uff0b\uff19\uff11 \uff19\uff19\uff19\uff19\uff10-\uff10\uff10\uff10\uff10\uff11",
                "9999000001\u200b",
            ],
            "919999000001",
        ),
        (
            "email",
            [
                "tom@b\u00fccher.de",
                "TOM@B\u00dcCHER.DE",
                "tom@xn--bcher-kva.de",
                "tom@bu\u0308cher.de",
                "tom\u200b@xn--bcher-kva.de\ufeff",
            ],
            "tom@xn--bcher-kva.de",
        ),
        (
            "email",
            ["jos\u00e9@example.com", "JOSE\u0301@EXAMPLE.COM", "jos\u00e9@\uff45xample.com"],
            "jos\u00e9@example.com",
        ),
    ],
)
def test_look_alike_forms_are_one_value(id_type: str, forms: list[str], stored: str) -> None:
    for form in forms:
        assert identifier_value(id_type, form, "IN") == stored, form
        channel_type = id_type if id_type in ("mobile", "email") else "wechat"
        assert channel_value(channel_type, form, "IN") == stored, form


def test_a_value_of_invisible_characters_only_is_empty() -> None:
    with pytest.raises(InvalidValue) as exc:
        identifier_value("externalId", "\u200b\ufeff", "IN")
    assert exc.value.entry.code == 8132


def test_an_email_longer_than_150_characters_once_normalised_is_refused() -> None:
    local = "t" * 60
    fits = f"{local}@{'b' * 60}.{'c' * 24}.com"  # 150 characters
    assert identifier_value("email", fits, "IN") == fits
    for too_long in (fits[:-3] + "info", f"{local}@b\u00fccher{'c' * 60}.{'d' * 15}.com"):
        with pytest.raises(InvalidValue) as ident:
            identifier_value("email", too_long, "IN")
        assert ident.value.entry.code == 8055
        with pytest.raises(InvalidValue) as chan:
            channel_value("email", too_long, "IN")
        assert chan.value.entry.code == 8057
