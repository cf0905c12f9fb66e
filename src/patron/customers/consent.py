"""Communication consent (SPEC 10.2): its names, checking a request, planning a change. Pure.

A customer holds one state (OPTIN or OPTOUT) per (channel, priority); a pair nobody set is the
org's default for its priority. `resolve_consent` checks a request against the org (names read
case-insensitively, sources and accounts of the provenance); `plan_consent` compares it with the
stored states and returns the same `Plan` an update makes, so the change is stored, recorded in
the history and announced by the one write path (`patron.customers.rows`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron import errors
from patron.customers.model import Customer
from patron.customers.planner import Change, Plan, Writes
from patron.customers.resolve import report_unknown_keys, resolve_source
from patron.errors import Problems
from patron.orgs.model import CONSENT_PRIORITIES, CONSENT_TYPES, OrgConfig

CHANNELS: tuple[str, ...] = ("SMS", "EMAIL", "WECHAT", "WHATSAPP", "IOS", "ANDROID", "LINE")
"""Consent channels, in the order states are listed."""

CHANNEL_ALIASES: dict[str, str] = {"MOBILE": "SMS"}
"""Other names Capillary's clients use for a channel."""

ALWAYS_LISTED: tuple[tuple[str, str], ...] = tuple(
    (channel, priority) for channel in ("SMS", "EMAIL") for priority in CONSENT_PRIORITIES
)
"""Pairs every answer lists, set or not."""

Pair = tuple[str, str]
"""(channel, priority)."""


@dataclass(frozen=True, slots=True)
class SubscriptionReq:
    """One entry of a consent request, as sent."""

    channel: str
    priority: str
    type: str
    source_name: str | None
    account_id: str | None
    field: str


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """A consent request body, as sent."""

    subscriptions: tuple[SubscriptionReq, ...]
    reason: str | None = None
    campaign_id: int | None = None
    communication_id: int | None = None
    unknown_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Consent:
    """One checked entry: the state to hold and where it was given (None: not said)."""

    channel: str
    priority: str
    type: str
    source_name: str | None
    account_id: str | None


@dataclass(frozen=True, slots=True)
class ResolvedConsent:
    """A checked consent request."""

    consents: tuple[Consent, ...]
    reason: str | None
    campaign_id: int | None
    communication_id: int | None


def _name(
    raw: str, allowed: tuple[str, ...], what: str, path: str, problems: Problems
) -> str | None:
    value = raw.strip().upper()
    value = CHANNEL_ALIASES.get(value, value) if what == "channel" else value
    if value not in allowed:
        problems.error(
            errors.INVALID_SUBSCRIPTION,
            f"{what} {raw[:40]!r} is not one of {', '.join(allowed)}",
            path,
        )
        return None
    return value


def _given(raw: str | None) -> str | None:
    """`""` (or nothing) means not given."""
    return raw.strip() if raw is not None and raw.strip() else None


def _where(
    entry: SubscriptionReq, config: OrgConfig, problems: Problems
) -> tuple[str | None, str | None]:
    """The checked sourceName and accountId of an entry (None where not given)."""
    source = _given(entry.source_name)
    account = _given(entry.account_id)
    if source is not None:
        source = resolve_source(source, config, problems, f"{entry.field}.sourceName")
    if account is None:
        return source, None
    if source is not None:
        accounts = config.sources.get(source, ())
        where = f"source {source}"
    else:
        accounts = tuple(a for accs in config.sources.values() for a in accs)
        where = "any source of the org"
    if account not in accounts:
        problems.error(
            errors.UNKNOWN_ACCOUNT,
            f"{account[:64]!r} is not an account of {where}",
            f"{entry.field}.accountId",
        )
        return source, None
    return source, account


def resolve_consent(request: ConsentRequest, config: OrgConfig) -> tuple[ResolvedConsent, Problems]:
    """Check a consent request against the org: every problem found, and the checked entries."""
    problems = Problems()
    report_unknown_keys(request.unknown_keys, problems)
    consents: list[Consent] = []
    seen: dict[Pair, str] = {}
    for entry in request.subscriptions:
        channel = _name(entry.channel, CHANNELS, "channel", f"{entry.field}.channel", problems)
        priority = _name(
            entry.priority, CONSENT_PRIORITIES, "priority", f"{entry.field}.priority", problems
        )
        type_ = _name(entry.type, CONSENT_TYPES, "type", f"{entry.field}.type", problems)
        source, account = _where(entry, config, problems)
        if channel is None or priority is None or type_ is None:
            continue
        if (channel, priority) in seen:
            problems.error(
                errors.DUPLICATE_SUBSCRIPTION,
                f"{entry.field} names {channel} {priority} again (first in "
                f"{seen[(channel, priority)]})",
                entry.field,
            )
            continue
        seen[(channel, priority)] = entry.field
        consents.append(Consent(channel, priority, type_, source, account))
    resolved = ResolvedConsent(
        tuple(consents), request.reason, request.campaign_id, request.communication_id
    )
    return resolved, problems


def state_of(pair: Pair, stored: Mapping[Pair, str], config: OrgConfig) -> str:
    """The consent a customer holds for a pair: stored, or the org's default."""
    return stored.get(pair) or config.subscription_defaults[pair[1]]


def listed(stored: Mapping[Pair, str], config: OrgConfig) -> list[dict[str, str]]:
    """Every pair ever set and the four of SMS and EMAIL, as `{"channel", "priority", "type"}`,
    in channel order, TRANS before BULK."""
    pairs = set(stored) | set(ALWAYS_LISTED)
    order = {
        (c, p): (i, j) for i, c in enumerate(CHANNELS) for j, p in enumerate(CONSENT_PRIORITIES)
    }
    return [
        {"channel": c, "priority": p, "type": state_of((c, p), stored, config)}
        for c, p in sorted(pairs, key=order.__getitem__)
    ]


def path(pair: Pair) -> str:
    """A consent's history path: `subscriptions[EMAIL:BULK]`."""
    return f"subscriptions[{pair[0]}:{pair[1]}]"


def context(resolved: ResolvedConsent) -> dict[str, Any]:
    """The provenance a consent change records: why, for which campaign and communication, and
    where each entry sent says it was given."""
    return {
        "reason": resolved.reason,
        "campaignId": resolved.campaign_id,
        "communicationId": resolved.communication_id,
        "subscriptions": [
            {
                "channel": c.channel,
                "priority": c.priority,
                "type": c.type,
                "sourceName": c.source_name,
                "accountId": c.account_id,
            }
            for c in resolved.consents
        ],
    }


def plan_consent(
    customer: Customer,
    stored: Mapping[Pair, str],
    resolved: ResolvedConsent,
    problems: Problems,
    config: OrgConfig,
    *,
    now: datetime,
) -> Plan:
    """Plan a consent change against the customer's stored states. Pure.

    A pair is written only when its state changes (its old value is the state in effect, the
    org's default when never set), so a request that changes nothing plans no write.
    """
    after = customer.clone()
    changes: list[Change] = []
    writes = Writes()
    if not problems.errors:
        for c in resolved.consents:
            pair = (c.channel, c.priority)
            old = state_of(pair, stored, config)
            if old != c.type:
                changes.append(Change(path(pair), old, c.type))
                writes.subscriptions.append((c.channel, c.priority, c.type))
    if changes:
        after.version += 1
        after.modified_at = now
    return Plan(
        after,
        changes,
        problems.warnings,
        problems.errors,
        [],
        writes,
        context=context(resolved),
    )


def after_plan(stored: Mapping[Pair, str], plan: Plan) -> dict[Pair, str]:
    """The stored states once `plan` is applied."""
    states = dict(stored)
    for channel, priority, type_ in plan.writes.subscriptions:
        states[(channel, priority)] = type_
    return states
