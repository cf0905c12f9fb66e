"""What the customer page shows, worked out from a customer and the org's configuration. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patron.customers.model import Customer, Profile, profile_label
from patron.customers.points import LedgerSums, loyalty_entry
from patron.orgs.model import OrgConfig


@dataclass(frozen=True, slots=True)
class EnrolmentView:
    """One program the customer is enrolled in, with names from the org's configuration."""

    program_id: int
    program_name: str
    tier_number: int
    tier_name: str
    tier_expiry_date: str | None
    next_tier: str
    """The next tier's name, or "" at the top tier."""
    points: int
    """Credited and not expired: the balance."""
    lifetime_points: int
    expired_points: int


def enrolments(
    customer: Customer, sums: dict[int, LedgerSums], config: OrgConfig
) -> list[EnrolmentView]:
    """The customer's enrolments with their ledger sums (SPEC 10.3), by program id.

    A program or tier removed from the org since shows its number.
    """
    out = []
    for e in sorted(customer.enrolments.values(), key=lambda e: e.program_id):
        program = config.programs.get(e.program_id)
        tier = program.tiers.get(e.tier_number) if program else None
        entry: dict[str, Any] = loyalty_entry(e, sums.get(e.program_id), config)
        out.append(
            EnrolmentView(
                e.program_id,
                program.name if program else f"program {e.program_id}",
                e.tier_number,
                tier.name if tier else f"tier {e.tier_number}",
                e.tier_expiry_date,
                str(entry["nextSlab"]),
                int(entry["loyaltyPoints"]),
                int(entry["lifetimePoints"]),
                int(entry["expired"]),
            )
        )
    return out


def program_names(config: OrgConfig) -> dict[int, str]:
    """Program id -> name, for the points expiry schedule."""
    return {pid: p.name for pid, p in config.programs.items()}


def profiles(customer: Customer) -> list[tuple[str, Profile]]:
    """(label, profile) of every profile, in a stable order."""
    return sorted((profile_label(k), p) for k, p in customer.profiles.items())


def profile_options(config: OrgConfig) -> list[str]:
    """Every source/account of the org as the search form offers it (`WECHAT/wc_main`)."""
    out = []
    for source, accounts in config.sources.items():
        out += [f"{source}/{a}" for a in accounts] if accounts else [source]
    return out
