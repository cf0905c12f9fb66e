"""Reading and validating phone numbers as `phonenumbers` does, faster for the everyday spellings.

`phonenumbers.parse` and `is_valid_number` cost 15-35 microseconds a number, most of it in
layers that look for a number inside free text (punctuation, letters, extensions, RFC 3966) and
in one regular expression per number type. Every mobile of every registration, update and lookup
goes through them; a bulk import spent a quarter of its preparing time there.

So a number spelt as ASCII digits, with at most a leading `+` and single spaces or hyphens
between the digits, skips the text layers: for such a spelling `phonenumbers.parse` reduces to
its number-level steps (the IDD or country code, the national prefix, the length checks), which
are run here in the same order, with `phonenumbers`' own helpers where they work on digits.
Validity is `phonenumbers`' own rule (the number matches its region's general description and
one type's), with each region's type patterns joined into one expression per length. Any other
spelling goes to `phonenumbers.parse` itself, and a number of a non-geographic calling code
(+800...) to its `is_valid_number`.
tests/customers/test_phone.py holds both functions to `phonenumbers` over every region's
example numbers, their spellings and mutations, and random digits.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import phonenumbers
from phonenumbers import (
    REGION_CODE_FOR_NON_GEO_ENTITY,
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberDesc,
)

# Its number-level helpers are private: pyproject.toml pins phonenumbers, and
# tests/customers/test_phone.py compares every answer with the library's, so an upgrade that
# changes them fails there first.
from phonenumbers import phonenumberutil as pnu
from phonenumbers.re_util import enable_pattern_cache, re_compile

# For the whole process, on purpose: phonenumbers then keeps the metadata's compiled patterns
# instead of asking `re`'s bounded cache for each one on every call (several dozen a number).
enable_pattern_cache()

# Why skipping phonenumbers' text layers is safe for this shape: the text starts with `+` or a
# digit and ends with a digit (nothing to trim), holds no `;` (no RFC 3966) and no letter (no
# vanity number), and every extension pattern needs a letter or one of `# , ; ~`. With three
# digits or more its viability check always passes; two bare digits pass it, `+12` and `1-2`
# do not, so those stay with phonenumbers.
_EVERYDAY = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*")
_MIN_DIGITS = 3
_TYPE_DESCS = (
    # The order of phonenumberutil._number_type_helper; only whether one matches matters here.
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)

Parsed = tuple[int, str]
"""(country calling code, national significant number) of a parsed number."""


_strip_national_prefix: Any = pnu._maybe_strip_national_prefix_carrier_code
"""(carrier code, national number, stripped?): phonenumbers' stub declares the carrier code a
str, but it is None when the number has none; typed Any, so compiled code does not check it."""


def parse(text: str, region: str | None) -> Parsed | None:
    """`text` read as `phonenumbers.parse(text, region)` reads it, or None where that raises."""
    plus = text[:1] == "+"
    metadata = None if region is None else PhoneMetadata.metadata_for_region(region, None)
    # Without a region phonenumbers reads only a `+` spelling (it refuses the rest).
    if (metadata is not None or (region is None and plus)) and _EVERYDAY.fullmatch(text):
        digits = (text[1:] if plus else text).replace(" ", "").replace("-", "")
        if len(digits) >= _MIN_DIGITS and len(text) <= pnu._MAX_INPUT_STRING_LENGTH:
            try:
                return _parse_digits(digits, plus, region, metadata)
            except _ReadAgain:
                pass
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    assert number.country_code is not None  # phonenumbers sets it on every number it returns
    return number.country_code, phonenumbers.national_significant_number(number)


class _ReadAgain(Exception):
    """A `+` followed by no known calling code: phonenumbers then reads the digits a second
    time, as if there were no `+`, which is left to it."""


def _parse_digits(
    digits: str, plus: bool, region: str | None, metadata: PhoneMetadata | None
) -> Parsed | None:
    """phonenumbers.parse's number-level steps, in its order, on an everyday spelling's digits."""
    if plus:
        found = _after_plus(digits)
    else:
        assert metadata is not None  # parse() reads a spelling without `+` only with a region
        found = _without_plus(digits, metadata)
    if found is None:
        return None
    country_code, national = found
    if country_code == 0:
        # No calling code in the digits: all of them are the national number, in the region's.
        assert metadata is not None and metadata.country_code is not None
        country_code, national = metadata.country_code, digits
    else:
        number_region = pnu.region_code_for_country_code(country_code)
        if number_region != region:
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(
                country_code, number_region
            )
    if len(national) < pnu._MIN_LENGTH_FOR_NSN:
        return None
    if metadata is not None:
        stripped: str = _strip_national_prefix(national, metadata)[1]
        if pnu._test_number_length(stripped, metadata) not in (
            pnu.ValidationResult.TOO_SHORT,
            pnu.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
            pnu.ValidationResult.INVALID_LENGTH,
        ):
            national = stripped
    if not pnu._MIN_LENGTH_FOR_NSN <= len(national) <= pnu._MAX_LENGTH_FOR_NSN:
        return None
    # The national significant number is the digits as read: leading zeros (Italy's 06...) and
    # all.
    return country_code, national


def _after_plus(digits: str) -> tuple[int, str] | None:
    """The calling code after a `+` and the rest; None where phonenumbers refuses the number."""
    if len(digits) <= pnu._MIN_LENGTH_FOR_NSN:
        return None
    code, rest = pnu._extract_country_code(digits)
    if code == 0:
        raise _ReadAgain
    return code, rest


def _without_plus(digits: str, metadata: PhoneMetadata) -> tuple[int, str] | None:
    """phonenumberutil._maybe_extract_country_code without a `+`: the calling code after an
    IDD, or the region's own when the digits start with it and read better without it, or 0
    (none); None where phonenumbers refuses the number."""
    idd = metadata.international_prefix
    stripped, full = pnu._parse_prefix_as_idd(
        re_compile(idd if idd is not None else "NonMatch"), digits
    )
    if stripped:
        if len(full) <= pnu._MIN_LENGTH_FOR_NSN:
            return None
        code, rest = pnu._extract_country_code(full)
        return None if code == 0 else (code, rest)
    own = str(metadata.country_code)
    if full.startswith(own):
        general = metadata.general_desc
        national: str = _strip_national_prefix(full[len(own) :], metadata)[1]
        if (
            not pnu._match_national_number(full, general, False)
            and pnu._match_national_number(national, general, False)
        ) or pnu._test_number_length(full, metadata) == pnu.ValidationResult.TOO_LONG:
            assert metadata.country_code is not None
            return metadata.country_code, national
    return 0, ""


def is_valid(country_code: int, national: str) -> bool:
    """`phonenumbers.is_valid_number` of the number with that code and national number."""
    regions = pnu.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if regions is None:
        return False
    if REGION_CODE_FOR_NON_GEO_ENTITY in regions:
        return phonenumbers.is_valid_number(_number(country_code, national))
    region = regions[0] if len(regions) == 1 else _region_of(national, regions)
    if region is None:
        return False
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or country_code != pnu.country_code_for_valid_region(region):
        return False
    return _has_type(metadata, national)


def _region_of(national: str, regions: tuple[str, ...]) -> str | None:
    """phonenumberutil._region_code_for_number_from_list."""
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re_compile(metadata.leading_digits).match(national):
                return region
        elif _has_type(metadata, national):
            return region
    return None


def _has_type(metadata: PhoneMetadata, national: str) -> bool:
    """phonenumberutil._number_type_helper(national, metadata) != UNKNOWN."""
    general, types = _patterns(metadata.id, len(national))
    return (
        general is not None
        and general.fullmatch(national) is not None
        and types is not None
        and types.fullmatch(national) is not None
    )


@cache  # bounded by the metadata: some 245 regions, 17 lengths
def _patterns(region: str, length: int) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """A region's general pattern and its type patterns joined, for numbers of `length` digits.

    None where no description admits that length (or has no pattern), which never matches.
    Joining with `|` under `fullmatch` means "one of them matches the whole number" because the
    metadata's patterns hold no flags, anchors or backreferences (test_phone.py checks).
    """
    metadata = PhoneMetadata.metadata_for_region(region, None)
    assert metadata is not None  # only asked for regions whose metadata was found
    names = list(_TYPE_DESCS)
    if not metadata.same_mobile_and_fixed_line_pattern:
        names.append("mobile")
    general = _admitting(metadata.general_desc, length)
    types = [p for p in (_admitting(getattr(metadata, n), length) for n in names) if p]
    return (
        re.compile(general) if general else None,
        re.compile("|".join(f"(?:{p})" for p in types)) if types else None,
    )


def _admitting(desc: PhoneNumberDesc | None, length: int) -> str | None:
    """The description's pattern if it admits numbers of `length` digits (_is_number_matching_desc)."""
    if desc is None:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return desc.national_number_pattern or None


def _number(country_code: int, national: str) -> PhoneNumber:
    """The PhoneNumber phonenumbers.parse builds for that code and national number."""
    number = PhoneNumber(country_code=country_code, national_number=int(national))
    pnu._set_italian_leading_zeros_for_phone_number(national, number)
    return number
