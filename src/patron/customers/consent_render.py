"""Consent as the wire contract shows it (SPEC 10.2): the GET and POST answers. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from patron.conditions import StoredResponse
from patron.customers.consent import Pair, ResolvedConsent, listed
from patron.customers.planner import Plan
from patron.errors import Problem
from patron.orgs.model import OrgConfig


def subscriptions_wire(
    states: Mapping[Pair, str], config: OrgConfig, warnings: list[Problem]
) -> dict[str, Any]:
    """The GET answer: `{"subscriptions", "campaignId": 0, "communicationId": 0, "warnings"}`."""
    return {
        "subscriptions": listed(states, config),
        "campaignId": 0,
        "communicationId": 0,
        "warnings": [w.to_wire() for w in warnings],
    }


def consent_answer(
    states: Mapping[Pair, str],
    config: OrgConfig,
    request: ResolvedConsent,
    plan: Plan,
    *,
    version: int,
    dry_run: bool,
) -> StoredResponse:
    """The POST answer: the states after the change with `reason`, `campaignId` and
    `communicationId` echoed (+ `"changes"` for a dry run), the customer's version as `ETag`."""
    body: dict[str, Any] = {
        "subscriptions": listed(states, config),
        "campaignId": 0 if request.campaign_id is None else request.campaign_id,
        "communicationId": 0 if request.communication_id is None else request.communication_id,
        "reason": request.reason,
        "warnings": [w.to_wire() for w in plan.warnings],
    }
    if dry_run:
        body["changes"] = [c.to_wire() for c in plan.changes]
    return StoredResponse(200, orjson.dumps(body), {"ETag": f'"{version}"'})
