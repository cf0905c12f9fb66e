"""`embed=` of the customer details routes (SPEC 5): what each value adds, as one table.

A value joins by adding one entry to `EMBEDS`: a function that adds its keys to the details
already rendered. Unknown values are warnings, never errors, since Capillary knows more of them
(`promotionalPoints`, `expirySchedules`, ...) than patron answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from patron import errors
from patron.customers import consent_service, loyalty_service, points
from patron.customers.consent import listed
from patron.customers.model import Customer
from patron.customers.points import LedgerSums
from patron.db.driver import Database
from patron.errors import Problem
from patron.orgs.model import OrgConfig


@dataclass(slots=True)
class EmbedContext:
    """What an embed may read: the customer already loaded, and the ledger sums, read once."""

    db: Database
    config: OrgConfig
    customer: Customer
    _sums: dict[int, LedgerSums] | None = None

    async def loyalty_entries(self) -> list[dict[str, Any]]:
        """The 10.3 entries of the customer's enrolments (the ledger is read at most once)."""
        if self._sums is None:
            self._sums = await loyalty_service.ledger_sums(self.db, self.config, self.customer.id)
        return points.loyalty_entries(self.customer.enrolments.values(), self._sums, self.config)


Embedder = Callable[[EmbedContext, dict[str, Any]], Awaitable[None]]


async def _points(ctx: EmbedContext, details: dict[str, Any]) -> None:
    points.with_points_summary(details, await ctx.loyalty_entries(), ctx.config)


async def _mlp(ctx: EmbedContext, details: dict[str, Any]) -> None:
    points.with_mlp(details, await ctx.loyalty_entries())


async def _subscriptions(ctx: EmbedContext, details: dict[str, Any]) -> None:
    target = consent_service.ConsentTarget(customer_id=ctx.customer.id)
    state = await consent_service.read(ctx.db, ctx.config, target)
    details["subscriptionInfo"] = {"subscriptions": listed(state.states, ctx.config)}


EMBEDS: dict[str, Embedder] = {
    "points": _points,
    "mlp": _mlp,
    "subscriptions": _subscriptions,
}
"""Each known `embed` value (lower case) and how it extends the details."""

DESCRIPTION = (
    "Comma-separated: `points` adds pointsSummary, `mlp` adds points and tier keys to each "
    "loyaltyProgramDetails entry, `subscriptions` adds subscriptionInfo (communication consent); "
    "other values are warned about (case-insensitive)."
)


@dataclass(frozen=True, slots=True)
class Embeds:
    """The known values a request asked for, in the order of `EMBEDS`, and its warnings."""

    values: tuple[str, ...] = ()
    warnings: list[Problem] = field(default_factory=list)


MAX_WARNINGS = 10
"""Unknown values reported one by one; the rest share one warning (a query string is long)."""


def parse_embed(raw: str | None) -> Embeds:
    """Read `embed=a,b`: known values (matched case-insensitively), unknown ones as warnings."""
    if raw is None:
        return Embeds()
    asked: set[str] = set()
    unknown: dict[str, str] = {}
    for part in raw.split(","):
        value = part.strip()
        if value.lower() in EMBEDS:
            asked.add(value.lower())
        elif value:
            unknown.setdefault(value.lower(), value)
    warnings = [
        Problem(
            errors.UNKNOWN_EMBED,
            f"embed {value[:64]!r} is not one of {', '.join(EMBEDS)}; it was ignored",
            "embed",
        )
        for value in list(unknown.values())[:MAX_WARNINGS]
    ]
    if len(unknown) > MAX_WARNINGS:
        warnings.append(
            Problem(
                errors.UNKNOWN_EMBED,
                f"{len(unknown) - MAX_WARNINGS} more unknown embed values were ignored",
                "embed",
            )
        )
    return Embeds(tuple(v for v in EMBEDS if v in asked), warnings)


async def apply_embeds(
    embeds: Embeds, db: Database, config: OrgConfig, customer: Customer, details: dict[str, Any]
) -> None:
    """Extend rendered customer details with what each asked-for embed adds."""
    ctx = EmbedContext(db, config, customer)
    for value in embeds.values:
        await EMBEDS[value](ctx, details)
