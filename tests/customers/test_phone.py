"""patron.customers.phone reads and validates numbers exactly as `phonenumbers` does.

The corpus: every region's example number of every type, in each everyday spelling (E.164,
international, national, digits with and without their calling code, after an IDD), and
mutations of each (a digit dropped, added or changed, a trunk zero inserted), each read against
its own region and two others; then random digit strings. Each is compared with
`phonenumbers.parse` + `is_valid_number`, and `normalise_mobile`'s answer with the answer it
gave when it called `phonenumbers` directly.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from patron.customers import phone
from patron.customers.normalise import _mobile

_DEFAULTS = ("IN", "US", "GB", "IT", "DE", "BR", "AR", "MX", "RU", "CN", "FR", "AU", "SG", "AE")
_TYPES = [getattr(PhoneNumberType, n) for n in dir(PhoneNumberType) if n.isupper()]


def _reference_parse(text: str, region: str | None) -> phone.Parsed | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number.country_code, phonenumbers.national_significant_number(number)


def _reference_mobile(text: str, default_country: str) -> str | None:
    """normalise._mobile as it was before patron.customers.phone: phonenumbers alone."""
    if not text or len(text) > 32:
        return None
    try:
        number = phonenumbers.parse(text, default_country)
    except phonenumbers.NumberParseException:
        number = None
    valid = number is not None and phonenumbers.is_valid_number(number)
    if not valid and not text.startswith("+"):
        try:
            number = phonenumbers.parse("+" + text, None)
        except phonenumbers.NumberParseException:
            return None
        valid = phonenumbers.is_valid_number(number)
    if number is None or not valid:
        return None
    return f"{number.country_code}{phonenumbers.national_significant_number(number)}"


def _examples() -> Iterator[tuple[phonenumbers.PhoneNumber, str]]:
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for type_ in _TYPES:
            number = phonenumbers.example_number_for_type(region, type_)
            if number is not None:
                yield number, region
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            yield number, "001"


def _spellings(number: phonenumbers.PhoneNumber, rnd: random.Random) -> Iterator[str]:
    code = str(number.country_code)
    national = phonenumbers.national_significant_number(number)
    for fmt in (
        PhoneNumberFormat.E164,
        PhoneNumberFormat.INTERNATIONAL,
        PhoneNumberFormat.NATIONAL,
    ):
        yield phonenumbers.format_number(number, fmt)
    for digits in (national, code + national, "0" + national, "00" + code + national):
        yield digits
        yield "+" + digits
        # The mutations: a digit dropped, added, changed; spaces and hyphens between groups.
        cut = rnd.randrange(len(digits))
        yield digits[:cut] + digits[cut + 1 :]
        yield digits[:cut] + str(rnd.randrange(10)) + digits[cut:]
        yield digits[:cut] + str(rnd.randrange(10)) + digits[cut + 1 :]
        yield "+" + code + " " + "-".join(national[i : i + 3] for i in range(0, len(national), 3))


def _corpus() -> list[tuple[str, str]]:
    rnd = random.Random(20261207)
    cases = []
    for number, region in _examples():
        for text in _spellings(number, rnd):
            regions = {region if region != "001" else "US", *rnd.sample(_DEFAULTS, 2)}
            cases.extend((text, r) for r in sorted(regions))
    for _ in range(20_000):
        digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 18)))
        if rnd.random() < 0.3:
            cut = rnd.randrange(len(digits))
            digits = digits[:cut] + rnd.choice(" -") + digits[cut:] if cut else digits
        cases.append((rnd.choice(["", "+"]) + digits, rnd.choice(_DEFAULTS)))
    return cases


CORPUS = _corpus()


@pytest.fixture(scope="module")
def before() -> list[str | None]:
    """normalise_mobile's answers for the corpus when it called phonenumbers directly."""
    return [_reference_mobile(text, region) for text, region in CORPUS]


def test_the_corpus_reaches_every_branch(before: list[str | None]) -> None:
    """Valid and invalid numbers, fast and slow spellings, in large numbers."""
    results = before
    assert len(CORPUS) > 40_000
    assert sum(r is not None for r in results) > 10_000
    assert sum(r is None for r in results) > 10_000
    assert sum(phone._EVERYDAY.fullmatch(t) is None for t, _ in CORPUS) > 500


def test_parse_reads_as_phonenumbers_does() -> None:
    wrong = [
        (text, region, phone.parse(text, region), _reference_parse(text, region))
        for text, region in CORPUS
        if phone.parse(text, region) != _reference_parse(text, region)
    ]
    assert wrong == []


def test_parse_without_a_region_reads_plus_spellings_as_phonenumbers_does() -> None:
    texts = {text if text.startswith("+") else "+" + text for text, _ in CORPUS[::3]}
    wrong = [t for t in sorted(texts) if phone.parse(t, None) != _reference_parse(t, None)]
    assert wrong == []


def test_is_valid_agrees_with_phonenumbers() -> None:
    numbers = {}
    for text, region in CORPUS:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        numbers[number.country_code, phonenumbers.national_significant_number(number)] = number
    assert len(numbers) > 20_000
    wrong = [
        parsed
        for parsed, number in sorted(numbers.items())
        if phone.is_valid(*parsed) != phonenumbers.is_valid_number(number)
    ]
    assert wrong == []


def test_normalise_mobile_answers_as_before(before: list[str | None]) -> None:
    _mobile.cache_clear()
    wrong = [
        (text, region, answer)
        for (text, region), answer in zip(CORPUS, before, strict=True)
        if _mobile(text, region) != answer
    ]
    assert wrong == []


@given(
    st.from_regex(r"\+?[0-9]{1,6}(?:[ -][0-9]{1,6}){0,3}", fullmatch=True),
    st.sampled_from(_DEFAULTS),
)
def test_everyday_spellings_read_as_phonenumbers_reads_them(text: str, region: str) -> None:
    assert phone.parse(text, region) == _reference_parse(text, region)


def test_the_metadata_patterns_can_be_joined() -> None:
    """phone._patterns joins a region's type patterns with `|` under fullmatch, which means "one
    of them matches the whole number" only while they hold no flags, anchors, backreferences or
    named groups: digits, classes, groups, counts and alternation alone."""
    patterns = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        assert metadata is not None
        for name in ("general_desc", *phone._TYPE_DESCS, "mobile"):
            desc = getattr(metadata, name)
            if desc is not None and desc.national_number_pattern:
                patterns.add(desc.national_number_pattern)
    assert len(patterns) > 1_000
    allowed = set("0123456789()[]{}|?,-:\\d")
    assert {c for p in patterns for c in p} <= allowed
    assert not any("(?" in p.replace("(?:", "") for p in patterns)


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("+91 9000000001", "IN", (91, "9000000001")),
        ("0091 9000000001", "IN", (91, "9000000001")),  # after India's IDD
        ("06 1234 5678", "IT", (39, "0612345678")),  # Italy keeps its leading zero
        ("+44 07911 123456", "IN", (44, "7911123456")),  # the trunk zero goes after +44
        ("+0 000", "IN", None),
        ("+1 650-253-0000", None, (1, "6502530000")),
    ],
)
def test_known_readings(text: str, region: str | None, expected: phone.Parsed | None) -> None:
    assert phone.parse(text, region) == expected
