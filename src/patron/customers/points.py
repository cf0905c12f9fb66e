"""Points and tiers as SPEC 10.3 shows them: from a customer's ledger sums to wire entries.

Pure: the sums come from `points_repository`, the tiers from the org's configuration. patron
records credits only (no purchases, redemptions, returns or adjustments), so those figures are 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from patron.customers.model import Enrolment
from patron.orgs.model import OrgConfig

TOP_TIER_SERIAL = -1
"""nextSlabSerialNumber at the top tier, as Capillary answers it."""

POINTS_TYPE = "REGULAR"
EXPIRY_TYPE = "fixed"


@dataclass(frozen=True, slots=True)
class LedgerSums:
    """A customer's credits in one program, summed at one instant."""

    program_id: int
    lifetime: int
    """Every credit ever made."""
    expired: int
    """Credits whose expiry had passed at that instant."""

    @property
    def available(self) -> int:
        """Credits not expired: the balance a till may show."""
        return self.lifetime - self.expired


@dataclass(frozen=True, slots=True)
class Credit:
    """One credit that has an expiry and had not expired when read."""

    program_id: int
    points: int
    expires_at: datetime


def loyalty_entry(
    enrolment: Enrolment, sums: LedgerSums | None, config: OrgConfig
) -> dict[str, Any]:
    """The 10.3 entry of one enrolment: balances, current tier and the next one."""
    program = config.programs.get(enrolment.program_id)
    tiers = program.tiers if program is not None else {}
    current = tiers.get(enrolment.tier_number)
    higher = sorted(n for n in tiers if n > enrolment.tier_number)
    following = tiers[higher[0]] if higher else None
    lifetime = sums.lifetime if sums else 0
    expired = sums.expired if sums else 0
    return {
        "programId": enrolment.program_id,
        "loyaltyPoints": float(lifetime - expired),
        "lifetimePoints": float(lifetime),
        "expired": float(expired),
        "redeemed": 0.0,
        "returned": 0.0,
        "adjusted": 0.0,
        "cumulativePurchases": 0.0,
        "currentSlab": current.name if current else "",
        "slabSNo": enrolment.tier_number,
        # The tier's expiry as the enrolment recorded it (with its offset); none: it never expires.
        "slabExpiryDate": enrolment.tier_expiry_date or None,
        "nextSlab": following.name if following else "",
        "nextSlabSerialNumber": following.number if following else TOP_TIER_SERIAL,
        "nextSlabDescription": following.name if following else "",
    }


def loyalty_entries(
    enrolments: Iterable[Enrolment], sums: dict[int, LedgerSums], config: OrgConfig
) -> list[dict[str, Any]]:
    """One 10.3 entry per enrolment, in program id order."""
    return [
        loyalty_entry(e, sums.get(e.program_id), config)
        for e in sorted(enrolments, key=lambda e: e.program_id)
    ]


def summary_program(enrolled: Iterable[int], config: OrgConfig) -> int | None:
    """The program `pointsSummary` describes: the org's default one, else the customer's only one."""
    programs = set(enrolled)
    default = config.default_program
    if default is not None and default.program_id in programs:
        return default.program_id
    if len(programs) == 1:
        return next(iter(programs))
    return None


def with_points_summary(
    details: dict[str, Any], entries: list[dict[str, Any]], config: OrgConfig
) -> None:
    """Add `pointsSummary` (embed=points) to customer details: null when no program applies."""
    chosen = summary_program((e["programId"] for e in entries), config)
    details["pointsSummary"] = next((e for e in entries if e["programId"] == chosen), None)


def with_mlp(details: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """Merge the 10.3 keys into each `loyaltyProgramDetails` entry (embed=mlp)."""
    by_program = {e["programId"]: e for e in entries}
    for item in details["loyaltyProgramDetails"]:
        item.update(by_program.get(item["programId"], {}))


def expiry_schedule(credits: Iterable[Credit]) -> list[dict[str, Any]]:
    """Unexpired credits summed per (UTC expiry date, program), soonest first."""
    totals: dict[tuple[str, int], int] = {}
    for c in credits:
        day = c.expires_at.astimezone(UTC).date().isoformat()
        totals[(day, c.program_id)] = totals.get((day, c.program_id), 0) + c.points
    return [
        {
            "points": float(points),
            "expiryDate": day,
            "programId": program_id,
            "pointsType": POINTS_TYPE,
            "expiryType": EXPIRY_TYPE,
        }
        for (day, program_id), points in sorted(totals.items())
    ]
