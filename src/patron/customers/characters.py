"""Which characters a person cannot see, and the one form of a value that reads the same (SPEC 5.3).

Pure functions, no I/O. `canonical` is the first step of normalising every identifier and channel
value; `name_problem` says why a first or last name is refused (SPEC 6 rule 3).
"""

from __future__ import annotations

import re
import unicodedata

# Characters that render as nothing, removed from every identifier and channel value: Unicode's
# Default_Ignorable_Code_Point set (zero-width spaces and joiners, byte-order mark, variation
# selectors, Hangul fillers, tag characters, ...) and every other format character (category Cf:
# bidi controls, soft hyphen, interlinear annotation) except the prepended concatenation marks
# (U+0600-0605, U+06DD, U+070F, U+0890-0891, U+08E2, U+110BD, U+110CD), which are visible signs.
# Whole reserved blocks are listed, so characters a later Unicode assigns there are covered too;
# tests/customers/test_characters.py checks every Cf character of the running Python is here.
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, non-joiner, joiner; left-to-right, right-to-left marks
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated controls
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # byte-order mark (zero-width no-break space)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFFB),  # reserved, and the interlinear annotation controls
    (0x13430, 0x1343F),  # Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)

_INVISIBLE = re.compile(
    "[" + "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a) for a, b in INVISIBLE_RANGES) + "]"
)


def canonical(text: str) -> str:
    """`text` without invisible characters, in Unicode NFKC form; plain ASCII comes back as is."""
    # ASCII holds no invisible character and is its own NFKC form; str.isascii() reads a flag
    # CPython keeps on every string, so the everyday value costs one call.
    if text.isascii():
        return text
    # Stripping first: an invisible character between a letter and its accent would otherwise
    # stop NFKC from composing them.
    return unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))


# Characters that would break a name's line or reorder what is shown around it: C0 and C1
# controls (line breaks, tabs, escape sequences, DEL), the line and paragraph separators, and the
# bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069). The bidi marks (U+200E,
# U+200F, U+061C) only set the direction of neutral characters next to them, and mixed-script
# names use them, so they are allowed.
_NOT_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def name_problem(name: str) -> str | None:
    """Why `name` cannot be stored as a first or last name, or None when it can."""
    found = _NOT_IN_NAMES.search(name)
    if found is None:
        return None
    char = found.group()
    if char >= "\u202a":
        what = "a bidi override or isolate"
    elif char in "\n\r\x0b\x0c\x85\u2028\u2029":
        what = "a line break"
    else:
        what = "a control character"
    return f"holds {what} (U+{ord(char):04X})"
