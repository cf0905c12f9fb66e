"""Normalising identifier and channel values (SPEC 5.3). Pure functions, no I/O.

Registration, update and lookup all go through these, so a value is stored, compared and
searched in one form: mobiles as digits with country code and no `+`, emails trimmed and
lower-cased, everything else trimmed.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from patron import errors
from patron.errors import Entry

MAX_PLAIN_VALUE = 150


class InvalidValue(ValueError):
    """A value that cannot be normalised; carries its catalogue entry and a sentence."""

    def __init__(self, entry: Entry, message: str) -> None:
        super().__init__(message)
        self.entry = entry
        self.message = message


def as_text(raw: str | int) -> str:
    """A JSON integer is read as its decimal digits (clients send mobiles as numbers)."""
    return str(raw) if isinstance(raw, int) else raw


# Parsing a number or an address costs tens of microseconds; the same values come back again and
# again (a lookup and the channel of the same request, a customer's next visit), so both are
# cached on their trimmed form.
def normalise_mobile(raw: str, default_country: str) -> str | None:
    """Digits with the country code and no `+`, or None when it is not a valid number."""
    return _mobile(raw.strip(), default_country)


@lru_cache(maxsize=16384)
def _mobile(text: str, default_country: str) -> str | None:
    if not text or len(text) > 32:
        return None
    try:
        number = phonenumbers.parse(text, default_country)
    except phonenumbers.NumberParseException:
        number = None
    if (number is None or not phonenumbers.is_valid_number(number)) and not text.startswith("+"):
        # "919999000001": digits that already carry their country code.
        try:
            number = phonenumbers.parse("+" + text, None)
        except phonenumbers.NumberParseException:
            return None
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    # The national significant number keeps the leading zero some countries dial (Italy: 06...).
    return f"{number.country_code}{phonenumbers.national_significant_number(number)}"


def normalise_email(raw: str) -> str | None:
    """Trimmed and lower-cased, or None when the syntax is not an address's."""
    return _email(raw.strip().lower())


# Addresses of the everyday shape: letters, digits and single `. _ + -` between them before the
# @-sign; hostname labels without leading, trailing or doubled hyphens after it, ending in an
# alphabetic top-level domain. email_validator accepts every such address within the length
# limits below and outside its special-use domains (tests/customers/test_normalise.py holds it
# to that), so those skip its full check, which costs more than the rest of resolving a value.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9]+(?:[._+-][a-z0-9]+)*@((?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]{2,63})"
)
_SPECIAL_USE = tuple(SPECIAL_USE_DOMAIN_NAMES)


def is_plain_email(text: str) -> bool:
    """Whether `text` (lower-cased) is an address of the everyday shape email_validator accepts."""
    match = _PLAIN_EMAIL.fullmatch(text)
    if match is None:
        return False
    domain = match.group(1)
    return (
        len(text) <= 254
        and len(text) - len(domain) - 1 <= 64
        and len(domain) <= 253
        and all(len(label) <= 63 for label in domain.split("."))
        and not any(domain == name or domain.endswith("." + name) for name in _SPECIAL_USE)
    )


# Keyed by the trimmed, lower-cased text, so `A@X.COM` and `a@x.com` are validated once.
@lru_cache(maxsize=16384)
def _email(text: str) -> str | None:
    if not text or len(text) > 254:
        return None
    if is_plain_email(text):
        return text
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    return text


def _plain(raw: str, entry: Entry, what: str) -> str:
    text = raw.strip()
    if not text or len(text) > MAX_PLAIN_VALUE:
        raise InvalidValue(entry, f"{what} must be 1 to {MAX_PLAIN_VALUE} characters")
    return text


def _normalise(
    kind: str, type_: str, raw: str | int, default_country: str, codes: tuple[Entry, Entry, Entry]
) -> str:
    mobile_code, email_code, plain_code = codes
    text = as_text(raw)
    if type_ == "mobile":
        value = normalise_mobile(text, default_country)
        if value is None:
            raise InvalidValue(mobile_code, f"{text!r} is not a valid mobile number")
        return value
    if type_ == "email":
        value = normalise_email(text)
        if value is None:
            raise InvalidValue(email_code, f"{text!r} is not a valid email address")
        return value
    return _plain(text, plain_code, f"A {type_} {kind}")


_IDENTIFIER_CODES = (
    errors.INVALID_MOBILE_IDENTIFIER,
    errors.INVALID_EMAIL_IDENTIFIER,
    errors.INVALID_IDENTIFIER_VALUE,
)
_CHANNEL_CODES = (
    errors.INVALID_MOBILE_CHANNEL,
    errors.INVALID_EMAIL_CHANNEL,
    errors.INVALID_CHANNEL_VALUE,
)


def identifier_value(id_type: str, raw: str | int, default_country: str) -> str:
    """The stored form of an identifier value; InvalidValue (8056, 8055, 8132) if it has none."""
    return _normalise("identifier", id_type, raw, default_country, _IDENTIFIER_CODES)


def channel_value(channel_type: str, raw: str | int, default_country: str) -> str:
    """The stored form of a channel value; InvalidValue (8058, 8057, 8133) if it has none."""
    return _normalise("channel value", channel_type, raw, default_country, _CHANNEL_CODES)
