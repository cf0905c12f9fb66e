"""An export line's `subscriptions`: the customer's consent states, read back by import. Pure.

An export line lists the consent states the customer holds (every (channel, priority) ever set)
under the top-level key `subscriptions`, as `{"channel", "priority", "type"}` entries. Import
reads the list with the API's own consent reader and checks (`ConsentIn`, `resolve_consent`:
the same names, spellings and errors as `POST .../subscriptions`), plans it with the API's
consent planner against a customer who has set nothing, and adds it to the registration's plan,
so the states are stored by the same rows (`customers.rows`) in the same write.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from patron.customers.consent import (
    CHANNELS,
    ConsentRequest,
    Pair,
    ResolvedConsent,
    plan_consent,
    resolve_consent,
)
from patron.customers.consent_schemas import ConsentIn, to_consent_request
from patron.customers.planner import Plan
from patron.errors import ApiError, Problems
from patron.orgs.model import CONSENT_PRIORITIES, OrgConfig
from patron.wire import parse_model

CONSENT_KEY = "subscriptions"


def consent_wire(states: Mapping[Pair, str]) -> list[dict[str, str]]:
    """Stored states as an export line writes them: SMS first, TRANS before BULK."""
    order = {
        (c, p): (i, j) for i, c in enumerate(CHANNELS) for j, p in enumerate(CONSENT_PRIORITIES)
    }
    return [
        {"channel": c, "priority": p, "type": states[(c, p)]}
        for c, p in sorted(states, key=lambda pair: order.get(pair, (len(order), 0)))
    ]


def read_consent(raw: Any, config: OrgConfig) -> tuple[ResolvedConsent, Problems]:
    """The line's states, read and checked as the body `{"subscriptions": raw}` of the API."""
    try:
        body = parse_model(ConsentIn, orjson.dumps({CONSENT_KEY: raw}))
    except ApiError as exc:
        problems = Problems(list(exc.errors), list(exc.warnings))
        return ResolvedConsent((), None, None, None), problems
    request: ConsentRequest = to_consent_request(body)
    return resolve_consent(request, config)


def with_consent(
    plan: Plan, resolved: ResolvedConsent, problems: Problems, config: OrgConfig, now: datetime
) -> None:
    """Add the states to a registration's plan: every state as the source held it, and a history
    change for each one that differs from the org's default (the consent planner's changes)."""
    planned = plan_consent(plan.customer, {}, resolved, problems, config, now=now)
    if problems.errors:
        return
    plan.changes.extend(planned.changes)
    # A state equal to the default is stored too: the source lists every pair ever set.
    plan.writes.subscriptions.extend((c.channel, c.priority, c.type) for c in resolved.consents)
