"""Resolving loyalty-program enrolments and expiry dates (SPEC 6 rule 8). Pure: no I/O."""

from __future__ import annotations

import re
from datetime import datetime

from patron import errors
from patron.customers.requests import CustomerRequest
from patron.customers.resolved import Problems, REnrolment, Resolved
from patron.orgs.model import OrgConfig

_EXPIRY = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")


def parse_expiry(text: str, now: datetime, path: str, problems: Problems) -> datetime | None:
    """Rule 8: `YYYY-MM-DDTHH:MM:SS+HH:MM` (or Z), in the future."""
    parsed: datetime | None = None
    if _EXPIRY.match(text):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None:
        problems.error(
            errors.INVALID_DATE, f"{path} must be written YYYY-MM-DDTHH:MM:SS+HH:MM (or Z)", path
        )
        return None
    if parsed <= now:
        problems.error(errors.DATE_NOT_IN_FUTURE, f"{path} must lie in the future", path)
        return None
    return parsed


def enrolments(
    request: CustomerRequest, config: OrgConfig, out: Resolved, problems: Problems, now: datetime
) -> None:
    """Rule 8: each enrolment's program, tier and dates checked; the good ones join `out`."""
    seen: set[int] = set()
    for e in request.enrolments:
        program = config.programs.get(e.program_id)
        ok = True
        if program is None:
            problems.error(
                errors.UNKNOWN_PROGRAM,
                f"{e.program_id} is not a loyalty program of this org",
                f"{e.field}.programId",
            )
            ok = False
        if e.program_id in seen:
            problems.error(
                errors.DUPLICATE_PROGRAM,
                f"program {e.program_id} is enrolled twice in one request",
                f"{e.field}.programId",
            )
            ok = False
        seen.add(e.program_id)
        tier = e.tier_number if e.tier_number is not None else 1
        if program is not None and tier not in program.tiers:
            problems.error(
                errors.UNKNOWN_TIER,
                f"{tier} is not a tier of program {e.program_id}",
                f"{e.field}.tierNumber",
            )
            ok = False
        tier_expiry = e.tier_expiry_date
        if (
            tier_expiry is not None
            and parse_expiry(tier_expiry, now, f"{e.field}.tierExpiryDate", problems) is None
        ):
            ok = False
        points_expires: datetime | None = None
        if e.points_expiry_date is not None:
            if not e.points:
                problems.warn(
                    errors.POINTS_EXPIRY_WITHOUT_POINTS,
                    "pointsExpiryDate was given without loyaltyPoints; it was ignored",
                    f"{e.field}.pointsExpiryDate",
                )
            else:
                points_expires = parse_expiry(
                    e.points_expiry_date, now, f"{e.field}.pointsExpiryDate", problems
                )
                ok = ok and points_expires is not None
        if ok:
            out.enrolments.append(
                REnrolment(e.program_id, tier, e.points, tier_expiry, points_expires, e.field)
            )
