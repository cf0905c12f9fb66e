"""An export line's `pointsLedger`: every credit of a customer's points ledger, read back by import.

Pure: no I/O. The API credits points one enrolment at a time and only with a future expiry, so
a customer's ledger (credits that have expired, several credits of one program) cannot be
written as a registration body. An export line carries it under the top-level key
`pointsLedger`, a list of `{"programId", "points", "expiresAt"}` (`expiresAt` an ISO 8601
instant or null), per program in the order they were credited; import checks it here and adds the credits to the
registration's plan, so they are stored by the same rows (`customers.rows`) as any credit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from patron import errors
from patron.customers.planner import Change, Credit, Plan
from patron.customers.resolve_enrolments import MAX_POINTS
from patron.errors import Problems

LEDGER_KEY = "pointsLedger"


def ledger_wire(credits: Iterable[Credit]) -> list[dict[str, Any]]:
    """Credits as an export line writes them (instants in UTC, `Z`)."""
    return [
        {
            "programId": c.program_id,
            "points": c.points,
            "expiresAt": None
            if c.expires_at is None
            else c.expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        for c in credits
    ]


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _instant(value: Any, path: str, problems: Problems) -> datetime | None:
    if not isinstance(value, str):
        problems.error(errors.WRONG_TYPE, f"{path} must be a date-time or null", path)
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        problems.error(
            errors.INVALID_DATE, f"{path} must be an ISO 8601 date-time with offset", path
        )
        return None
    return instant.astimezone(UTC)


def _credit(raw: Any, path: str, problems: Problems) -> Credit | None:
    if not isinstance(raw, dict):
        problems.error(errors.WRONG_TYPE, f"{path} must be an object", path)
        return None
    before = len(problems.errors)
    program_id = _whole(raw.get("programId"))
    points = _whole(raw.get("points"))
    if program_id is None:
        problems.error(
            errors.WRONG_TYPE, f"{path}.programId must be an integer", f"{path}.programId"
        )
    if points is None:
        problems.error(errors.WRONG_TYPE, f"{path}.points must be an integer", f"{path}.points")
    elif not 1 <= points <= MAX_POINTS:
        problems.error(
            errors.OUT_OF_RANGE,
            f"{path}.points must be between 1 and {MAX_POINTS}",
            f"{path}.points",
        )
    expires = raw.get("expiresAt")
    expires_at = None if expires is None else _instant(expires, f"{path}.expiresAt", problems)
    for key in sorted(set(raw) - {"programId", "points", "expiresAt"}):
        problems.warn(
            errors.UNKNOWN_KEY, f"{path}.{key} is not known; it was ignored", f"{path}.{key}"
        )
    if len(problems.errors) > before or program_id is None or points is None:
        return None
    return Credit(program_id, points, expires_at)


def read_ledger(raw: Any, problems: Problems) -> list[Credit]:
    """The credits of a line's `pointsLedger`; what is wrong with it goes to `problems`."""
    if not isinstance(raw, list):
        problems.error(errors.WRONG_TYPE, f"{LEDGER_KEY} must be a list", LEDGER_KEY)
        return []
    found = [_credit(item, f"{LEDGER_KEY}[{n}]", problems) for n, item in enumerate(raw)]
    return [c for c in found if c is not None]


def with_ledger(plan: Plan, credits: list[Credit], problems: Problems) -> None:
    """Add the credits to a registration's plan; a credit of a program it does not enrol in is
    an error (the ledger's rows hang off the enrolment)."""
    by_program: dict[int, list[Credit]] = {}
    for n, c in enumerate(credits):
        if c.program_id not in plan.customer.enrolments:
            problems.error(
                errors.CREDIT_NOT_ENROLLED,
                f"the line does not enrol the customer in program {c.program_id}",
                f"{LEDGER_KEY}[{n}].programId",
            )
        by_program.setdefault(c.program_id, []).append(c)
    if problems.errors:
        return
    plan.writes.credits.extend(credits)
    # The history entry and the registration event say which credits the line brought.
    for program_id, given in sorted(by_program.items()):
        plan.changes.append(
            Change(
                f"loyaltyProgramEnrollments[{program_id}].{LEDGER_KEY}", None, ledger_wire(given)
            )
        )
