"""Normalising identifier and channel values (SPEC 5.3). Pure functions, no I/O.

Registration, update and lookup all go through these, so a value is stored, compared and
searched in one form. Every value is first made `canonical` (NFKC, no invisible characters), so
look-alike spellings are one value; then mobiles become digits with country code and no `+`,
emails are trimmed and lower-cased with their domain in its IDNA ASCII form (`xn--...`), and
everything else is trimmed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from patron import errors
from patron.customers import phone
from patron.customers.characters import canonical
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


# Reading a number or an address costs microseconds, tens of them for the spellings that
# phonenumbers or email_validator read in full; the same values come back again and again (a
# lookup and the channel of the same request, a customer's next visit), so both are cached on
# their trimmed form.
def normalise_mobile(raw: str, default_country: str) -> str | None:
    """Digits with the country code and no `+`, or None when it is not a valid number."""
    return _mobile(canonical(raw).strip(), default_country)


@lru_cache(maxsize=16384)
def _mobile(text: str, default_country: str) -> str | None:
    if not text or len(text) > 32:
        return None
    number = phone.parse(text, default_country)
    valid = number is not None and phone.is_valid(*number)
    if not valid and not text.startswith("+"):
        # "919999000001": digits that already carry their country code.
        number = phone.parse("+" + text, None)
        valid = number is not None and phone.is_valid(*number)
    if number is None or not valid:
        return None
    # The national significant number keeps the leading zero some countries dial (Italy: 06...).
    country_code, national = number
    return f"{country_code}{national}"


def normalise_email(raw: str) -> str | None:
    """Trimmed, lower-cased, domain in IDNA ASCII form; None when the syntax is not an address's."""
    return _email(canonical(raw).strip().lower())


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
        return text if len(text) <= MAX_PLAIN_VALUE else None
    if not text.isascii():
        # Lower-casing can undo NFKC (U+0130 becomes i and a combining dot).
        text = unicodedata.normalize("NFKC", text)
    try:
        address = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    # The local part as sent (lower-cased); the domain as DNS knows it, so `bücher.de` and
    # `xn--bcher-kva.de` are one domain, stored in the form every mail system accepts.
    stored = f"{text[: text.rindex('@')]}@{address.ascii_domain}"
    # Stored values are at most 150 characters (the column); the ASCII form can be longer.
    return stored if len(stored) <= MAX_PLAIN_VALUE else None


def _plain(raw: str, entry: Entry, type_: str, kind: str) -> str:
    text = canonical(raw).strip()
    if not text or len(text) > MAX_PLAIN_VALUE:
        # The sentence is built only here: this runs for every identifier of every request.
        raise InvalidValue(entry, f"A {type_} {kind} must be 1 to {MAX_PLAIN_VALUE} characters")
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
            raise InvalidValue(
                email_code,
                f"{text!r} is not a valid email address of at most {MAX_PLAIN_VALUE} characters",
            )
        return value
    return _plain(text, plain_code, type_, kind)


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
