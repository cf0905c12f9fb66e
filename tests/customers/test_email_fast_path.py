"""The everyday-address shortcut of email normalising never accepts what email_validator refuses."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.customers.normalise import _PLAIN_EMAIL, InvalidValue, identifier_value, is_plain_email


def _validator_accepts(text: str) -> bool:
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_LABEL = st.one_of(
    st.from_regex(r"[a-z0-9]{1,20}(-[a-z0-9]{1,20}){0,2}", fullmatch=True),
    st.text(_ALNUM, min_size=55, max_size=65),  # around the 63-character label limit
)
_ADDRESSES = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    st.one_of(
        st.from_regex(r"[a-z0-9]{1,20}([._+-][a-z0-9]{1,20}){0,3}", fullmatch=True),
        st.text(_ALNUM, min_size=60, max_size=66),  # around the 64-character local limit
    ),
    st.lists(_LABEL, min_size=1, max_size=5),
    st.from_regex(r"[a-z]{2,8}", fullmatch=True),
)
"""Addresses of the shortcut's shape, with lengths around every limit it checks."""


@settings(max_examples=1000, deadline=None)
@given(_ADDRESSES)
def test_every_address_the_shortcut_takes_is_one_the_validator_accepts(text: str) -> None:
    assert _PLAIN_EMAIL.fullmatch(text)
    if is_plain_email(text):
        assert _validator_accepts(text), text


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="ab0-._+@xn", min_size=1, max_size=30))
def test_near_misses_the_shortcut_takes_are_accepted_by_the_validator(text: str) -> None:
    # Short strings over the characters that matter: doubled separators, edge hyphens, no
    # top-level domain, several @-signs.
    if is_plain_email(text):
        assert _validator_accepts(text), text


@pytest.mark.parametrize(
    "text",
    [
        "tom@example.com",
        "tom.sawyer+shop@mail.example.co.in",
        "a_b-c@x-y.org",
        "customer1000000@example.com",
    ],
)
def test_everyday_addresses_take_the_shortcut(text: str) -> None:
    assert is_plain_email(text)
    assert identifier_value("email", text.upper(), "IN") == text


@pytest.mark.parametrize(
    "text",
    [
        "tom@example.test",  # special-use domain
        "tom@shop.localhost",
        "tom@example.onion",
        "a" * 65 + "@example.com",  # local part over 64
        "tom@" + "a" * 64 + ".com",  # label over 63
        "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".com",  # over 254 in all
        "tom@xn--bcher-kva.com",  # Punycode: the validator decides
        "tom@example.c0m",  # top-level domain not alphabetic
        "tom..sawyer@example.com",
        "tom@-example.com",
    ],
)
def test_anything_else_goes_to_the_validator(text: str) -> None:
    assert not is_plain_email(text)
    if _validator_accepts(text):
        assert identifier_value("email", text, "IN") == text
    else:
        with pytest.raises(InvalidValue):
            identifier_value("email", text, "IN")
