"""SPEC 5.3 and rule 3: which characters are invisible, the canonical form, what a name may hold."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from patron.customers.characters import INVISIBLE_RANGES, canonical, name_problem

# Format characters that print: the prepended concatenation marks (Unicode's
# Prepended_Concatenation_Mark property) number signs written before digits.
PREPENDED_MARKS = {0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F}
PREPENDED_MARKS |= {0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD}


def _invisible(cp: int) -> bool:
    return any(a <= cp <= b for a, b in INVISIBLE_RANGES)


def test_every_format_character_of_this_python_is_stripped_but_the_visible_marks() -> None:
    format_chars = {cp for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Cf"}
    missing = sorted(f"U+{cp:04X}" for cp in format_chars - PREPENDED_MARKS if not _invisible(cp))
    assert missing == []
    assert not any(_invisible(cp) for cp in PREPENDED_MARKS)


def test_nfkc_never_brings_back_an_invisible_character() -> None:
    """So stripping before NFKC leaves nothing to strip after it (canonical is idempotent)."""
    # Only characters with a decomposition mapping change under NFKC (Hangul syllables, which
    # decompose by rule, become visible jamo).
    back = [
        f"U+{cp:04X}"
        for cp in range(sys.maxunicode + 1)
        if unicodedata.decomposition(chr(cp))
        and not _invisible(cp)
        and any(_invisible(ord(c)) for c in unicodedata.normalize("NFKC", chr(cp)))
    ]
    assert back == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\u200bb", "ab"),  # zero-width space
        ("ab\ufeff", "ab"),  # byte-order mark
        ("\u202eab\u202c", "ab"),  # right-to-left override ... pop directional formatting
        ("a\u2066b\u2069", "ab"),  # isolates
        ("\uff41\uff42", "ab"),  # fullwidth letters
        ("\uff11\uff12\uff13", "123"),  # fullwidth digits
        ("cafe\u0301", "caf\u00e9"),  # NFD to NFC
        ("cafe\u200b\u0301", "caf\u00e9"),  # an invisible character between letter and accent
        ("\ufb01le", "file"),  # ligature
        ("a\u00adb", "ab"),  # soft hyphen
        ("a\ufe0fb", "ab"),  # variation selector
        ("\U000e0041b", "b"),  # tag character
        ("\u0661\u0662", "\u0661\u0662"),  # Arabic-Indic digits are digits of their own
    ],
)
def test_canonical_makes_look_alikes_one_value(text: str, expected: str) -> None:
    assert canonical(text) == expected
    assert canonical(expected) == expected


def test_plain_ascii_is_returned_as_the_same_object() -> None:
    text = "".join(["EXT-", "42"])
    assert canonical(text) is text


@pytest.mark.parametrize(
    "name", ["Tom", "Zoë", "José María", "O'Brien", "\u0645\u062d\u0645\u062f", "Anna\u200fX"]
)
def test_names_a_person_writes_are_accepted(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("Tom\nSawyer", "a line break (U+000A)"),
        ("Tom\r\nSawyer", "a line break (U+000D)"),
        ("Tom\u2028Sawyer", "a line break (U+2028)"),
        ("Tom\tSawyer", "a control character (U+0009)"),
        ("\x1b[31mTom", "a control character (U+001B)"),
        ("Tom\x7f", "a control character (U+007F)"),
        ("Tom\x9b", "a control character (U+009B)"),
        ("\u202emoT", "a bidi override or isolate (U+202E)"),
        ("Tom\u2067x", "a bidi override or isolate (U+2067)"),
    ],
)
def test_names_with_controls_or_bidi_overrides_are_refused(name: str, what: str) -> None:
    assert name_problem(name) == f"holds {what}"
