"""Checking extended and typed custom field values against their dataType (SPEC rule 7).

`coerce` returns the value in its stored form or raises FieldTypeError with a sentence that names
the expected type. Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import pycountry

from patron.orgs.model import DataType, FieldDef

MAX_STRING = 255
_INT64 = 2**63
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class FieldTypeError(ValueError):
    """A value that does not fit its field's dataType."""


def _expect(defn: FieldDef, what: str) -> FieldTypeError:
    return FieldTypeError(f"{defn.name} must be {what} ({defn.data_type.value})")


def coerce(defn: FieldDef, value: Any) -> Any:
    """`value` in the stored form of `defn`'s type, or FieldTypeError naming the expected type."""
    kind = defn.data_type
    if kind is DataType.STRING:
        if not isinstance(value, str):
            raise _expect(defn, "a string")
        if len(value) > MAX_STRING:
            raise _expect(defn, f"a string of at most {MAX_STRING} characters")
        return value
    if kind is DataType.INTEGER:
        return _integer(defn, value)
    if kind is DataType.DOUBLE:
        return _double(defn, value)
    if kind is DataType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _expect(defn, "true or false")
    if kind is DataType.DATE:
        if isinstance(value, str) and _DATE.match(value.strip()):
            try:
                return date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                pass
        raise _expect(defn, "a date written YYYY-MM-DD")
    if kind is DataType.DATETIME:
        if isinstance(value, str) and _DATETIME.match(value.strip()):
            try:
                datetime.fromisoformat(value.strip())
                return value.strip()
            except ValueError:
                pass
        raise _expect(defn, "an ISO 8601 date-time")
    if kind.is_enum:
        if isinstance(value, str):
            wanted = value.strip().casefold()
            for allowed in defn.values:
                if allowed.casefold() == wanted:
                    return allowed
        raise _expect(defn, "one of " + ", ".join(defn.values))
    if kind is DataType.COUNTRY:
        if isinstance(value, str) and (code := country_code(value)) is not None:
            return code
        raise _expect(defn, "an ISO 3166 country code or name")
    if kind is DataType.LANGUAGE:
        if isinstance(value, str) and (code := language_code(value)) is not None:
            return code
        raise _expect(defn, "an ISO 639 language code or name")
    raise _expect(defn, "a value of a known type")  # pragma: no cover - DataType is closed


def _integer(defn: FieldDef, value: Any) -> int:
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,19}", value.strip()):
        number = int(value.strip())
    if number is None or not -_INT64 <= number < _INT64:
        raise _expect(defn, "a whole number")
    return number


def _double(defn: FieldDef, value: Any) -> float:
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.match(value.strip()):
        number = float(value.strip())
    if number is None or not math.isfinite(number):
        raise _expect(defn, "a number")
    return number


@lru_cache(maxsize=1024)
def country_code(text: str) -> str | None:
    """ISO 3166 alpha-2 for an alpha-2 or alpha-3 code or a country's name, else None."""
    key = text.strip()
    if not key:
        return None
    found = None
    if len(key) == 2:
        found = pycountry.countries.get(alpha_2=key.upper())
    elif len(key) == 3:
        found = pycountry.countries.get(alpha_3=key.upper())
    if found is None:
        try:
            found = pycountry.countries.lookup(key)
        except LookupError:
            return None
    return str(found.alpha_2)


@lru_cache(maxsize=1024)
def language_code(text: str) -> str | None:
    """ISO 639-1 code when the language has one (else 639-3), for a code or a name, else None."""
    key = text.strip()
    if not key:
        return None
    found = None
    if len(key) == 2:
        found = pycountry.languages.get(alpha_2=key.lower())
    elif len(key) == 3:
        found = pycountry.languages.get(alpha_3=key.lower())
    if found is None:
        try:
            found = pycountry.languages.lookup(key)
        except LookupError:
            return None
    return str(getattr(found, "alpha_2", None) or found.alpha_3)
