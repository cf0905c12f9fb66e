"""Resolving loyalty-program enrolments and expiry dates (SPEC 6 rule 8). Pure: no I/O."""

from __future__ import annotations

from datetime import datetime

from patron import errors
from patron.customers.requests import CustomerRequest, EnrolmentReq, WholeSent
from patron.customers.resolved import REnrolment, Resolved
from patron.customers.spelling import BadDate, DateTimeValue, parse_datetime, whole_number
from patron.errors import Problems
from patron.orgs.model import OrgConfig

MAX_POINTS = 10**12


def parse_expiry(text: str, now: datetime, path: str, problems: Problems) -> DateTimeValue | None:
    """Rule 8 and SPEC 5.4: a date-time with an offset (`+05:30`, `+0530`, `Z`), in the future."""
    try:
        parsed = parse_datetime(text, path)
    except BadDate as exc:
        problems.error(exc.entry, exc.message, path)
        return None
    if parsed.instant <= now:
        problems.error(errors.DATE_NOT_IN_FUTURE, f"{path} must lie in the future", path)
        return None
    return parsed


def _whole(value: WholeSent | None, path: str, problems: Problems) -> int | None:
    """SPEC 5.4: a whole number written as a number (75 or 75.0) or a string of digits."""
    if value is None:
        return None
    number = whole_number(value)
    if number is None:
        problems.error(errors.WRONG_TYPE, f"{path} must be a whole number", path)
    return number


def _optional_date(value: str | None, path: str, problems: Problems) -> str | None:
    """ "" for an optional date-time reads as not given, with a warning naming it (SPEC 5.4)."""
    if value == "":
        problems.warn(
            errors.EMPTY_VALUE_IGNORED, f"{path} was sent empty; it was read as not given", path
        )
        return None
    return value


def _enrolment(
    e: EnrolmentReq, config: OrgConfig, seen: set[int], problems: Problems, now: datetime
) -> REnrolment | None:
    program_id = _whole(e.program_id, f"{e.field}.programId", problems)
    tier_sent = _whole(e.tier_number, f"{e.field}.tierNumber", problems)
    points = _whole(e.points, f"{e.field}.loyaltyPoints", problems)
    ok = program_id is not None
    ok = ok and (e.tier_number is None or tier_sent is not None)
    ok = ok and (e.points is None or points is not None)
    if points is not None and not 0 <= points <= MAX_POINTS:
        problems.error(
            errors.OUT_OF_RANGE,
            f"{e.field}.loyaltyPoints must be between 0 and {MAX_POINTS}",
            f"{e.field}.loyaltyPoints",
        )
        ok = False
    program = config.programs.get(program_id) if program_id is not None else None
    if program_id is not None and program is None:
        problems.error(
            errors.UNKNOWN_PROGRAM,
            f"{program_id} is not a loyalty program of this org",
            f"{e.field}.programId",
        )
        ok = False
    if program_id is not None and program_id in seen:
        problems.error(
            errors.DUPLICATE_PROGRAM,
            f"program {program_id} is enrolled twice in one request",
            f"{e.field}.programId",
        )
        ok = False
    if program_id is not None:
        seen.add(program_id)
    tier = tier_sent if tier_sent is not None else 1
    if program is not None and tier not in program.tiers:
        problems.error(
            errors.UNKNOWN_TIER,
            f"{tier} is not a tier of program {program_id}",
            f"{e.field}.tierNumber",
        )
        ok = False
    tier_text = _optional_date(e.tier_expiry_date, f"{e.field}.tierExpiryDate", problems)
    tier_expiry = None
    if tier_text is not None:
        tier_expiry = parse_expiry(tier_text, now, f"{e.field}.tierExpiryDate", problems)
        ok = ok and tier_expiry is not None
    points_text = _optional_date(e.points_expiry_date, f"{e.field}.pointsExpiryDate", problems)
    points_expires: DateTimeValue | None = None
    if points_text is not None:
        if not points:
            # Dropped, so not validated first (SPEC 5.4).
            problems.warn(
                errors.POINTS_EXPIRY_WITHOUT_POINTS,
                "pointsExpiryDate was given without loyaltyPoints; it was ignored",
                f"{e.field}.pointsExpiryDate",
            )
        else:
            points_expires = parse_expiry(points_text, now, f"{e.field}.pointsExpiryDate", problems)
            ok = ok and points_expires is not None
    if not ok or program_id is None:
        return None
    return REnrolment(
        program_id,
        tier,
        points,
        tier_expiry.text if tier_expiry is not None else None,
        points_expires.instant if points_expires is not None else None,
        e.field,
    )


def enrolments(
    request: CustomerRequest, config: OrgConfig, out: Resolved, problems: Problems, now: datetime
) -> None:
    """Rule 8: each enrolment's program, tier and dates checked; the good ones join `out`."""
    seen: set[int] = set()
    for e in request.enrolments:
        resolved = _enrolment(e, config, seen, problems, now)
        if resolved is not None:
            out.enrolments.append(resolved)
