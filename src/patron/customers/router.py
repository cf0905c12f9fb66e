"""HTTP routes of the customer API (SPEC section 5): read the request, call the service, render.

Write requests are read whole by `patron.api.write_request` (flags, target, `Idempotency-Key`,
`If-Match`, body: every problem together); the path and query by `patron.customers.params`. The
service takes plain values and returns a result that this module renders. These routes are the
hot path: each takes the `Request` and reads its caller (`patron.auth.caller`) and its optional
string query parameters by hand, declaring them for the OpenAPI document, instead of through
FastAPI's per-request parameter and dependency machinery.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from patron.api.openapi import ERROR_RESPONSES, IdLink
from patron.api.responses import JsonResponse
from patron.api.write_request import (
    PRECONDITION_FAILED,
    WRITE_FLAGS,
    Write,
    no_target,
    read_write,
    write_extra,
)
from patron.auth.caller import Caller, caller
from patron.auth.deps import CallerDep
from patron.conditions import REPLAY_HEADER, StoredResponse
from patron.customers import params, service
from patron.customers.embed import Embeds, apply_embeds, parse_embed
from patron.customers.params import (
    ACCOUNT_ID,
    EMBED,
    LOOKUP,
    SOURCE,
    WRITE_LOOKUP,
    WRITE_SOURCE,
    read_extra,
)
from patron.customers.render import customer_wire, etag, history_wire, write_answer
from patron.customers.schemas import (
    CustomerOut,
    CustomerRegisterIn,
    CustomerUpdateIn,
    HistoryOut,
    IdentifierChangeIn,
    LookupOut,
    WriteOut,
    to_identifier_change,
    to_request,
)
from patron.customers.store import Target

router = APIRouter(tags=["customers"], responses=ERROR_RESPONSES)

LOOKUP_LINKS = IdLink(
    path="/v2/customers/lookup",
    method="get",
    status="200",
    value="$response.body#/entity",
    parameter="customer_id",
    prefix="/v2/customers/{customer_id}",
)
"""The lookup's answer leads to every route of the customer it found."""


def _answer(result: service.WriteResult) -> StoredResponse:
    """The response to a write, as an Idempotency-Key keeps it."""
    return write_answer(result.customer_id, result.version, result.plan, dry_run=result.dry_run)


def _written(request: Request, result: service.Written, kind: str) -> Response:
    """The response to a write, counted in the metrics when it stored something."""
    if isinstance(result, StoredResponse):
        # A replay: the first response's bytes, status and ETag, marked as such.
        answer, headers = result, {**result.headers, REPLAY_HEADER: "true"}
    else:
        answer = _answer(result)
        headers = answer.headers
        # Neither a dry run nor an update that changed nothing stored anything.
        if not result.dry_run and (kind == "registration" or result.plan.changed):
            request.app.state.metrics.write_applied(kind)
    return Response(answer.body, answer.status, headers, media_type="application/json")


async def _details(who: Caller, found: service.Found, embeds: Embeds) -> Response:
    c = found.customer
    keys = found.selected if found.selected is not None else list(c.profiles)
    profiles = [c.profiles[k] for k in keys if k in c.profiles]
    details = customer_wire(c, profiles, who.config, found.warnings + embeds.warnings)
    await apply_embeds(embeds, who.db, who.config, c, details)
    return JsonResponse(details, headers={"ETag": etag(c)})


@router.post(
    "/v2/customers",
    responses={200: {"model": WriteOut}},
    openapi_extra=write_extra(CustomerRegisterIn, *WRITE_FLAGS, conditional=False),
)
async def register_customer(request: Request) -> Response:
    """Register a customer: one or more profiles, extended fields, loyalty type, enrolments."""
    who = await caller(request)
    write = await read_write(request, CustomerRegisterIn, target=no_target, conditional=False)
    result = await service.register(
        who.db,
        who.config,
        who.principal,
        to_request(write.body),
        request_id=who.request_id,
        dry_run=write.dry_run,
        retry=write.retry,
        answer=_answer,
    )
    return _written(request, result, "registration")


@router.get(
    "/v2/customers/lookup",
    responses={200: {"model": LookupOut}},
    openapi_extra=read_extra(*LOOKUP),
)
async def lookup_customer(request: Request) -> Response:
    """Find a customer's id by one of their identifiers (`source=ALL` searches every source)."""
    who = await caller(request)
    lookup = params.lookup(request, who.config, allow_all=True)
    customer_id, warnings = await service.lookup_id(who.db, who.config, lookup)
    return JsonResponse({"entity": customer_id, "warnings": [w.to_wire() for w in warnings]})


@router.get(
    "/v2/customers/lookup/customerDetails",
    responses={200: {"model": CustomerOut}},
    openapi_extra=read_extra(*LOOKUP, EMBED),
)
async def customer_details_by_lookup(request: Request) -> Response:
    """A customer's full details, found by identifier, with the profile of that source/account."""
    who = await caller(request)
    lookup = params.lookup(request, who.config, allow_all=True)
    embeds = parse_embed(EMBED.read(request))
    return await _details(who, await service.details_by_lookup(who.db, who.config, lookup), embeds)


@router.put(
    "/v2/customers/lookup",
    responses={200: {"model": WriteOut}, **PRECONDITION_FAILED},
    openapi_extra=write_extra(CustomerUpdateIn, *WRITE_LOOKUP, *WRITE_FLAGS, conditional=True),
)
async def update_customer_by_lookup(request: Request) -> Response:
    """Update Customer Details by lookup: change a customer found by identifier, atomically."""
    who = await caller(request)
    target = params.lookup_target(request, who.config)
    write = await read_write(request, CustomerUpdateIn, target=target, conditional=True)
    return await _update(request, who, write)


@router.get(
    "/v2/customers/{customer_id}",
    responses={200: {"model": CustomerOut}},
    openapi_extra=read_extra(SOURCE, ACCOUNT_ID, EMBED),
)
async def customer_details(customer_id: str, request: Request) -> Response:
    """A customer's full details by id: one source's profile, or every profile with `source=ALL`."""
    who = await caller(request)
    cid = params.customer_id(customer_id)
    key = params.selected_profile(request, who.config)
    embeds = parse_embed(EMBED.read(request))
    return await _details(who, await service.details_by_id(who.db, who.config, cid, key), embeds)


@router.put(
    "/v2/customers/{customer_id}",
    responses={200: {"model": WriteOut}, **PRECONDITION_FAILED},
    openapi_extra=write_extra(
        CustomerUpdateIn, WRITE_SOURCE, ACCOUNT_ID, *WRITE_FLAGS, conditional=True
    ),
)
async def update_customer(customer_id: str, request: Request) -> Response:
    """The same update as by lookup, the customer named by id; `source` names the default profile."""
    who = await caller(request)
    target = params.id_target(request, who.config, params.customer_id(customer_id))
    write = await read_write(request, CustomerUpdateIn, target=target, conditional=True)
    return await _update(request, who, write)


async def _update(
    request: Request, who: Caller, write: Write[CustomerUpdateIn, Target | None]
) -> Response:
    """The shared tail of both PUT routes: the update, then its answer."""
    assert write.target is not None  # a request that names none has had its problem reported
    result = await service.update(
        who.db,
        who.config,
        who.principal,
        write.target,
        to_request(write.body),
        request_id=who.request_id,
        dry_run=write.dry_run,
        retry=write.retry,
        if_match=write.if_match,
        answer=_answer,
    )
    return _written(request, result, "update")


@router.post(
    "/v2/customers/{customer_id}/changeIdentifier",
    responses={200: {"model": WriteOut}, **PRECONDITION_FAILED},
    openapi_extra=write_extra(
        IdentifierChangeIn, WRITE_SOURCE, ACCOUNT_ID, *WRITE_FLAGS, conditional=True
    ),
)
async def change_identifier(customer_id: str, request: Request) -> Response:
    """Remove, then add, identifiers of one profile (`source`, `accountId`), atomically."""
    who = await caller(request)
    target = params.id_target(request, who.config, params.customer_id(customer_id))
    write = await read_write(request, IdentifierChangeIn, target=target, conditional=True)
    assert write.target is not None  # a request that names none has had its problem reported
    result = await service.change_identifiers(
        who.db,
        who.config,
        who.principal,
        write.target,
        to_identifier_change(write.body),
        request_id=who.request_id,
        dry_run=write.dry_run,
        retry=write.retry,
        if_match=write.if_match,
        answer=_answer,
    )
    return _written(request, result, "update")


@router.get("/v2/customers/{customer_id}/changes", responses={200: {"model": HistoryOut}})
async def customer_changes(
    customer_id: str,
    who: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Entries per page.")] = 20,
    cursor: Annotated[str | None, Query(description="nextCursor of the previous page.")] = None,
) -> Response:
    """The customer's change history, newest first, a page at a time."""
    cid = params.customer_id(customer_id)
    before = params.history_cursor(cursor)
    rows, next_cursor = await service.history(
        who.db, who.config, cid, limit=limit, before_version=before
    )
    next_page = None if next_cursor is None else str(next_cursor)
    return JsonResponse({"data": history_wire(rows), "nextCursor": next_page})
