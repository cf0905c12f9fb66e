"""Wire models of communication consent (SPEC 10.2): the POST body and the answers.

Like the customer bodies, they check JSON shape only and keep unknown keys (`scope`,
`orgUnitId`, ...) so that they are reported as warnings naming them; the names of channels,
priorities and types are checked by the domain (`patron.customers.consent`), case-insensitively.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from patron.customers.consent import ConsentRequest, SubscriptionReq
from patron.customers.schemas import ProblemOut, WireModel, unknown_keys

MAX_SUBSCRIPTIONS = 50
ID_BOUND = 2**63 - 1


class SubscriptionIn(WireModel):
    """One consent to record."""

    channel: str = Field(
        description="SMS (also MOBILE), EMAIL, WECHAT, WHATSAPP, IOS, ANDROID or LINE; any case."
    )
    priority: str = Field(description="TRANS (transactional) or BULK (promotional); any case.")
    type: str = Field(description="OPTIN or OPTOUT; any case.")
    source_name: str | None = Field(
        None, description='Where the consent was given: one of the org\'s sources; "" = not said.'
    )
    account_id: str | None = Field(
        None, description='One of the org\'s accounts (of sourceName when given); "" = not said.'
    )


class ConsentIn(WireModel):
    """Body of `POST .../subscriptions`: only `subscriptions` is required."""

    subscriptions: list[SubscriptionIn] = Field(min_length=1, max_length=MAX_SUBSCRIPTIONS)
    reason: str | None = Field(None, description="Why; kept in the customer's history.")
    campaign_id: int | None = Field(None, ge=-ID_BOUND, le=ID_BOUND)
    communication_id: int | None = Field(None, ge=-ID_BOUND, le=ID_BOUND)


def to_consent_request(body: ConsentIn) -> ConsentRequest:
    """The domain's view of a validated body."""
    return ConsentRequest(
        subscriptions=tuple(
            SubscriptionReq(
                channel=s.channel,
                priority=s.priority,
                type=s.type,
                source_name=s.source_name,
                account_id=s.account_id,
                field=f"subscriptions[{i}]",
            )
            for i, s in enumerate(body.subscriptions)
        ),
        reason=body.reason,
        campaign_id=body.campaign_id,
        communication_id=body.communication_id,
        unknown_keys=tuple(unknown_keys(body)),
    )


# --- responses (documentation only: routes render with orjson) ---------------------------


class SubscriptionOut(BaseModel):
    """A consent state."""

    channel: str
    priority: str
    type: str


class SubscriptionsOut(BaseModel):
    """A customer's consent: every pair ever set and the four of SMS and EMAIL."""

    model_config = ConfigDict(populate_by_name=True)

    subscriptions: list[SubscriptionOut]
    campaign_id: int = Field(alias="campaignId", description="0 on a GET; echoed by a POST.")
    communication_id: int = Field(
        alias="communicationId", description="0 on a GET; echoed by a POST."
    )
    reason: str | None = Field(None, description="POST only: echoed.")
    changes: list[dict[str, object]] | None = Field(
        None, description="Dry runs only: every change it would make."
    )
    warnings: list[ProblemOut]


class SubscriptionInfoOut(BaseModel):
    """`subscriptionInfo` of the details routes with `embed=subscriptions`."""

    subscriptions: list[SubscriptionOut]
