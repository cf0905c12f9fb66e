"""Reading the spellings Capillary's clients send (SPEC 5.4). Pure functions, no I/O.

Names of kinds are matched without regard to case, whole numbers may come as strings of digits
or as numbers without a fraction, and date-times may write their offset with or without a colon
and carry fractional seconds. Each reader returns the canonical value or says why there is none.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache

from patron import errors
from patron.errors import Entry

_DIGITS = re.compile(r"[+-]?\d{1,19}")
# Years of more than four digits are read so that they can be refused as out of range (SPEC 8)
# rather than as badly written.
_DATE = re.compile(r"(\d{4,})-(\d{2})-(\d{2})")
_DATETIME = re.compile(
    r"(\d{4,})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(?:(Z|z)|([+-])(\d{2}):?(\d{2}))?"
)


class BadDate(ValueError):
    """A date or date-time that cannot be read; carries its catalogue entry."""

    def __init__(self, entry: Entry, message: str) -> None:
        super().__init__(message)
        self.entry = entry
        self.message = message


@dataclass(frozen=True, slots=True)
class DateTimeValue:
    """A date-time as read: its instant and its text in canonical spelling."""

    instant: datetime
    text: str


@cache
def _by_folded(kinds: tuple[str, ...]) -> dict[str, str]:
    return {k.casefold(): k for k in kinds}


def canonical_kind(raw: str, kinds: tuple[str, ...]) -> str | None:
    """The member of `kinds` that `raw` names, whatever its case (`cardNumber` -> `cardnumber`)."""
    return _by_folded(kinds).get(raw.strip().casefold())


def whole_number(value: object) -> int | None:
    """An integer from a JSON integer, a number without a fraction (75.0) or a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _out_of_range(what: str) -> BadDate:
    return BadDate(errors.DATE_OUT_OF_RANGE, f"{what} must lie within the years 1 to 9999 (UTC)")


def parse_date(text: str, what: str = "the date") -> date:
    """A date written `YYYY-MM-DD` in the years 1 to 9999; BadDate otherwise."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise BadDate(errors.INVALID_DATE, f"{what} must be a date written YYYY-MM-DD")
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= year <= 9999:
        raise _out_of_range(what)
    try:
        return date(year, month, day)
    except ValueError:
        raise BadDate(errors.INVALID_DATE, f"{what} is not a date of the calendar") from None


def parse_datetime(text: str, what: str = "the date-time") -> DateTimeValue:
    """A date-time with an offset (`+05:30`, `+0530` or `Z`) whose UTC instant lies in the years
    1 to 9999; BadDate otherwise. Its canonical text writes the offset `+HH:MM` (or `Z`)."""
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        raise BadDate(
            errors.INVALID_DATE,
            f"{what} must be an ISO 8601 date-time with an offset, YYYY-MM-DDTHH:MM:SS+HH:MM (or Z)",
        )
    year_text, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu is None and sign is None:
        raise BadDate(
            errors.INVALID_DATE, f"{what} has no offset (+HH:MM or Z), so its instant is unknown"
        )
    year = int(year_text)
    if not 1 <= year <= 9999:
        raise _out_of_range(what)
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        local = datetime(
            year, int(month), int(day), int(hour), int(minute), int(second or 0), micros
        )
        offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        if sign == "-":
            offset = -offset
        tz = timezone(offset)
    except ValueError:
        raise BadDate(errors.INVALID_DATE, f"{what} is not a date-time of the calendar") from None
    try:
        local.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise _out_of_range(what) from None
    suffix = "Z" if zulu else f"{sign}{off_h}:{off_m}"
    frac = f".{fraction}" if fraction else ""
    spelled = f"{year:04d}-{month}-{day}T{hour}:{minute}:{second or '00'}{frac}{suffix}"
    return DateTimeValue(local.replace(tzinfo=tz), spelled)


def parse_date_or_datetime(text: str, what: str) -> str:
    """A date or a date-time (as `lastViewedDate` may be), in canonical spelling; BadDate else."""
    if _DATE.fullmatch(text.strip()):
        return parse_date(text, what).isoformat()
    return parse_datetime(text, what).text
