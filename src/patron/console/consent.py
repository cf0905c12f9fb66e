"""A console opt-in or opt-out: one (channel, priority) changed through the consent service.

The change goes through `customers.consent_service.change` (SPEC 10.2), the API's own path, with
If-Match on the version the page showed (a preview is the same call as a dry run), attributed to the console user, its reason recorded.
"""

from __future__ import annotations

from patron.conditions import IfMatch, StoredResponse
from patron.console.signin import SignedIn
from patron.customers import consent_service
from patron.customers.consent import ConsentRequest, SubscriptionReq
from patron.customers.consent_render import consent_answer
from patron.customers.consent_service import ConsentResult, ConsentTarget
from patron.db.driver import Database

REASON = "changed in the member-care console"


async def set_consent(
    db: Database,
    user: SignedIn,
    customer_id: int,
    *,
    channel: str,
    priority: str,
    state: str,
    version: int | None,
    request_id: str,
    dry_run: bool,
) -> ConsentResult:
    """Preview (`dry_run`) or set one consent of customer `customer_id`; ApiError if refused."""

    def answer(result: ConsentResult) -> StoredResponse:
        # Kept only with an Idempotency-Key, which the console never sends; the API's answer.
        return consent_answer(
            result.states,
            user.config,
            result.request,
            result.plan,
            version=result.version,
            dry_run=result.dry_run,
        )

    entry = SubscriptionReq(channel, priority, state, None, None, "subscriptions[0]")
    result = await consent_service.change(
        db,
        user.config,
        user.principal,
        ConsentTarget(customer_id=customer_id),
        ConsentRequest((entry,), reason=REASON),
        request_id=request_id,
        dry_run=dry_run,
        if_match=IfMatch(frozenset({str(version)} if version is not None else ())),
        answer=answer,
    )
    assert isinstance(result, ConsentResult)
    return result
