"""HTTP routes of communication consent (SPEC 10.2): GET and POST `/subscriptions`, by id and
by lookup.

They read their caller and query by hand like the other customer routes, and a POST is read
whole by the one write request reader (`patron.api.write_request`). The lookup routes are
declared first so that `/v2/customers/lookup/subscriptions` is never read as the customer id
"lookup".
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from patron.api.openapi import ERROR_RESPONSES
from patron.api.responses import JsonResponse
from patron.api.write_request import PRECONDITION_FAILED, WRITE_FLAGS, read_write, write_extra
from patron.auth.caller import Caller, caller
from patron.conditions import REPLAY_HEADER, StoredResponse
from patron.customers import consent_service, params
from patron.customers.consent_render import consent_answer, subscriptions_wire
from patron.customers.consent_schemas import ConsentIn, SubscriptionsOut, to_consent_request
from patron.customers.consent_service import ConsentResult, ConsentTarget
from patron.customers.params import LOOKUP, WRITE_LOOKUP, read_extra
from patron.errors import ApiError, Problems

router = APIRouter(tags=["customers"], responses=ERROR_RESPONSES)


def _lookup_target(request: Request, who: Caller) -> Callable[[Problems], ConsentTarget | None]:
    """The customer a POST by lookup names, read with the request's other problems."""

    def target(problems: Problems) -> ConsentTarget | None:
        try:
            return ConsentTarget(lookup=params.lookup(request, who.config, allow_all=False))
        except ApiError as exc:
            problems.errors += exc.errors
            return None

    return target


async def _read(who: Caller, target: ConsentTarget) -> Response:
    state = await consent_service.read(who.db, who.config, target)
    body = subscriptions_wire(state.states, who.config, state.warnings)
    return JsonResponse(body, headers={"ETag": f'"{state.version}"'})


async def _change(
    request: Request, who: Caller, target: Callable[[Problems], ConsentTarget | None]
) -> Response:
    write = await read_write(request, ConsentIn, target=target, conditional=True)
    assert write.target is not None  # a request that names none has had its problem reported

    def answer(result: ConsentResult) -> StoredResponse:
        return consent_answer(
            result.states,
            who.config,
            result.request,
            result.plan,
            version=result.version,
            dry_run=result.dry_run,
        )

    result = await consent_service.change(
        who.db,
        who.config,
        who.principal,
        write.target,
        to_consent_request(write.body),
        request_id=who.request_id,
        dry_run=write.dry_run,
        retry=write.retry,
        if_match=write.if_match,
        answer=answer,
    )
    if isinstance(result, StoredResponse):
        # A replay: the first response's bytes, status and ETag, marked as such.
        stored, headers = result, {**result.headers, REPLAY_HEADER: "true"}
    else:
        stored = answer(result)
        headers = stored.headers
        if not result.dry_run and result.plan.changed:
            request.app.state.metrics.write_applied("consent")
    return Response(stored.body, stored.status, headers, media_type="application/json")


@router.get(
    "/v2/customers/lookup/subscriptions",
    responses={200: {"model": SubscriptionsOut}},
    openapi_extra=read_extra(*LOOKUP),
)
async def subscriptions_by_lookup(request: Request) -> Response:
    """Communication consent of a customer found by identifier: every pair ever set, and SMS and EMAIL always."""
    who = await caller(request)
    lookup = params.lookup(request, who.config, allow_all=True)
    return await _read(who, ConsentTarget(lookup=lookup))


@router.post(
    "/v2/customers/lookup/subscriptions",
    responses={200: {"model": SubscriptionsOut}, **PRECONDITION_FAILED},
    openapi_extra=write_extra(ConsentIn, *WRITE_LOOKUP, *WRITE_FLAGS, conditional=True),
)
async def change_subscriptions_by_lookup(request: Request) -> Response:
    """Record opt-ins and opt-outs of a customer found by identifier, with their provenance."""
    who = await caller(request)
    return await _change(request, who, _lookup_target(request, who))


@router.get(
    "/v2/customers/{customer_id}/subscriptions",
    responses={200: {"model": SubscriptionsOut}},
)
async def subscriptions(customer_id: str, request: Request) -> Response:
    """Communication consent of a customer: every pair ever set, and SMS and EMAIL always."""
    who = await caller(request)
    return await _read(who, ConsentTarget(customer_id=params.customer_id(customer_id)))


@router.post(
    "/v2/customers/{customer_id}/subscriptions",
    responses={200: {"model": SubscriptionsOut}, **PRECONDITION_FAILED},
    openapi_extra=write_extra(ConsentIn, *WRITE_FLAGS, conditional=True),
)
async def change_subscriptions(customer_id: str, request: Request) -> Response:
    """Record opt-ins and opt-outs per channel and priority, with their provenance (reason,
    campaign, communication, where given)."""
    who = await caller(request)
    target = ConsentTarget(customer_id=params.customer_id(customer_id))
    return await _change(request, who, lambda problems: target)
