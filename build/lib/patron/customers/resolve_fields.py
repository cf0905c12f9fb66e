"""Resolving field values: typed custom and extended fields (SPEC 6 rules 6 and 7) and the
limits of free-form JSON values (SPEC 8). Pure: no I/O."""

from __future__ import annotations

import math
from typing import Any

from patron import errors
from patron.customers.fields import FieldTypeError, coerce
from patron.customers.resolved import Problems
from patron.orgs.model import FieldDef, OrgConfig

MAX_STRING = 1024
_INT64 = 2**63


def typed_fields(
    values: dict[str, Any],
    defs: dict[str, FieldDef],
    path: str,
    config: OrgConfig,
    problems: Problems,
    *,
    extended: bool,
) -> dict[str, Any]:
    """Rules 6 and 7: known keys typed, unknown ones dropped (custom) or refused (strict extended)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        here = f"{path}.{name}"
        if len(name) > MAX_STRING:
            problems.error(
                errors.TOO_LONG, f"a key of {path} is longer than {MAX_STRING} characters", path
            )
            continue
        defn = defs.get(name)
        if defn is None:
            if not extended:
                problems.warn(
                    errors.UNKNOWN_CUSTOM_FIELD,
                    f"{name!r} is not a custom field of this org; it was dropped",
                    here,
                )
            elif config.strict_fields:
                problems.error(
                    errors.UNKNOWN_EXTENDED_FIELD,
                    f"{name!r} is not an extended field of this org",
                    here,
                )
            else:
                problems.warn(
                    errors.FIELD_DROPPED,
                    f"{name!r} is not an extended field of this org; it was dropped",
                    here,
                )
            continue
        if value is None:
            out[name] = None
            continue
        try:
            out[name] = coerce(defn, value)
        except FieldTypeError as exc:
            if config.strict_fields:
                problems.error(errors.INVALID_FIELD_VALUE, str(exc), here)
            else:
                problems.warn(errors.FIELD_DROPPED, f"{exc}; it was dropped", here)
    return out


def check_json(value: Any, path: str, problems: Problems) -> None:
    """SPEC 8 for free-form objects: strings of at most 1,024 characters, storable numbers."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        problems.error(errors.OUT_OF_RANGE, f"{path} must be a 64-bit integer", path)
    elif isinstance(value, float) and not math.isfinite(value):
        problems.error(errors.OUT_OF_RANGE, f"{path} must be a finite number", path)
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            problems.error(errors.TOO_LONG, f"{path} is longer than {MAX_STRING} characters", path)
    elif isinstance(value, dict):
        for k, v in value.items():
            if len(k) > MAX_STRING:
                problems.error(
                    errors.TOO_LONG, f"a key of {path} is longer than {MAX_STRING} characters", path
                )
            check_json(v, f"{path}.{k}", problems)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_json(v, f"{path}[{i}]", problems)
