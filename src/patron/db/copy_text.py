"""PostgreSQL's COPY text format: rows of Python values as the bytes `COPY ... FROM STDIN` reads.

Pure: no I/O. The import's preparing processes encode a batch's rows here, so the process that
holds the transaction only streams bytes (`Connection.copy_text`): no pickled rows to rebuild,
no per-value encoding on its side. The values are the ones patron's rows hold: text (JSON
columns get `JsonText`, already encoded), integers, booleans, dates and datetimes, which are
always aware in patron (`utcnow`): a naive one would be read in the server's time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from patron.db.base import JsonText

NULL = "\\N"

_AS_STR = frozenset({int, bool, datetime, date})
"""Types whose `str` is the text PostgreSQL reads (`True`, `2026-12-07 10:30:00+00:00`)."""

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def text_field(value: Any) -> str:
    """One value in COPY's text form: TypeError for a type patron's rows do not hold,
    ValueError for a NUL (PostgreSQL's text cannot hold one)."""
    kind = type(value)
    if kind is str or kind is JsonText:
        text: str = value
        if "\t" not in text and _safe(text):
            return text
        if "\x00" in text:
            raise ValueError("PostgreSQL text cannot hold a NUL character")
        return text.translate(_ESCAPES)
    if value is None:
        return NULL
    if kind in _AS_STR:
        return str(value)
    raise TypeError(f"no COPY text form for a {kind.__name__}")


def _safe(text: str) -> bool:
    # Four scans in C: faster than one pass of a character class over long JSON text.
    return "\\" not in text and "\n" not in text and "\r" not in text and "\x00" not in text


_FAST: dict[type, Callable[[Any], str]] = {
    str: str,
    JsonText: str,
    int: str,
    bool: str,
    datetime: str,
    date: str,
    type(None): lambda _: "",
}
"""Per type, the text of a value before escaping (NULL stands in as "" until the row is safe)."""


def text_line(row: Sequence[Any]) -> str:
    """One row: its fields separated by tabs, ended by a newline (TypeError for a value of
    another type)."""
    # Most rows need no escaping: one join, checked as a whole (a tab inside a value shows as
    # one tab too many), costs a fraction of a call per value. Other rows take the careful way.
    try:
        texts = [_FAST[type(v)](v) for v in row]
    except KeyError:
        return "\t".join(map(text_field, row)) + "\n"  # raises the TypeError
    line = "\t".join(texts)
    if line.count("\t") != len(row) - 1 or not _safe(line):
        return "\t".join(map(text_field, row)) + "\n"
    if None in row:
        line = "\t".join([NULL if v is None else t for v, t in zip(row, texts, strict=True)])
    return line + "\n"


def encode(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as one block of COPY text data (UTF-8)."""
    return "".join(map(text_line, rows)).encode()
