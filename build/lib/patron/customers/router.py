"""HTTP routes of the customer API (SPEC section 5): parameters in, service call, JSON out.

Write routes also read the `Idempotency-Key` and `If-Match` headers (SPEC rule 13); the service
does the rest. These routes are the hot path: each takes the `Request` and reads its caller
(`patron.api.caller`) and its optional string query parameters (`patron.api.query`) by hand,
declaring them for the OpenAPI document, instead of through FastAPI's per-request parameter and
dependency machinery.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from patron import errors
from patron.api.body import MAX_BODY_BYTES, read_body
from patron.api.caller import Caller, caller
from patron.api.deps import CallerDep
from patron.api.openapi import ERROR_RESPONSES, ErrorBody, json_body
from patron.api.query import QueryParam
from patron.api.responses import JsonResponse
from patron.customers import idempotency, service
from patron.customers.idempotency import IdempotencyKey, StoredResponse
from patron.customers.lookup import Lookup, parse_lookup, profile_selector
from patron.customers.render import customer_wire, etag, history_wire
from patron.customers.resolve import Problems
from patron.customers.schemas import (
    CustomerOut,
    CustomerRegisterIn,
    CustomerUpdateIn,
    HistoryOut,
    LookupOut,
    WriteOut,
    to_request,
)
from patron.errors import ApiError, Problem
from patron.orgs.model import OrgConfig

router = APIRouter(tags=["customers"], responses=ERROR_RESPONSES)

MAX_ID = 2**63 - 1

M = TypeVar("M", bound=BaseModel)

# The headers of SPEC rule 13, read from the request by hand (a repeated header must be seen),
# so declared for the OpenAPI document here.
_IDEMPOTENCY_KEY_PARAM: dict[str, Any] = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": "1-255 printable ASCII characters. Makes a retry safe: the same key with the "
    "same request replays the first response (with `Idempotent-Replayed: true`) for 24 hours; "
    "with another request it is a 409.",
    "schema": {"type": "string"},
}
_IF_MATCH_PARAM: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'Update only if the customer\'s ETag is one of these (`"3"`, a list, or `*`); '
    "otherwise 412.",
    "schema": {"type": "string"},
}
_PRECONDITION_FAILED: dict[int | str, dict[str, Any]] = {
    412: {"model": ErrorBody, "description": "If-Match does not match the customer's ETag"}
}


SOURCE = QueryParam("source", "A source of the org, case-insensitive.")
ACCOUNT_ID = QueryParam("accountId", "Required when the source has accounts.")
IDENTIFIER_NAME = QueryParam("identifierName", "An identifier type, e.g. mobile.")
IDENTIFIER_VALUE = QueryParam("identifierValue", "Normalised like stored values.")
DRY_RUN = QueryParam("dryRun", "true: validate and plan, store nothing.")
USE_ASYNC = QueryParam("use_async", "Accepted; the answer is the same.")
LOOKUP = (SOURCE, ACCOUNT_ID, IDENTIFIER_NAME, IDENTIFIER_VALUE)
WRITE_FLAGS = (DRY_RUN, USE_ASYNC)


def _params(*params: QueryParam) -> dict[str, Any]:
    """`openapi_extra` of a read route: the query parameters it reads by hand."""
    return {"parameters": [p.openapi() for p in params]}


def _write_extra(model: type[BaseModel], *params: QueryParam, conditional: bool) -> dict[str, Any]:
    """`openapi_extra` of a write route: its query parameters, JSON body and the headers it reads."""
    extra = json_body(model)
    extra["parameters"] = [
        *(p.openapi() for p in params),
        _IDEMPOTENCY_KEY_PARAM,
        *([_IF_MATCH_PARAM] if conditional else []),
    ]
    return extra


def _dry_run(request: Request, problems: list[Problem]) -> bool:
    """The request's dryRun flag (use_async is checked, then ignored); a bad one joins `problems`.

    The first malformed flag is reported and the request is not a dry run.
    """
    try:
        dry_run = _flag(DRY_RUN.read(request), DRY_RUN.name)
        _flag(USE_ASYNC.read(request), USE_ASYNC.name)
    except ApiError as exc:
        problems += exc.errors
        return False
    return dry_run


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ApiError.one(errors.INVALID_QUERY, f"{name} must be true or false", name)
    return lowered == "true"


def _customer_id(raw: str) -> int:
    # Anything that cannot be an id names no customer: the same 404 as an unknown id.
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        raise ApiError.one(errors.CUSTOMER_NOT_FOUND, "customer not found")
    return int(raw)


def _write_response(result: service.WriteResult | StoredResponse) -> Response:
    if isinstance(result, StoredResponse):
        # A replay: the first response's bytes, status and ETag, marked as such.
        return Response(
            result.body,
            status_code=result.status,
            media_type="application/json",
            headers={**result.headers, idempotency.REPLAY_HEADER: "true"},
        )
    return JsonResponse(result.wire(), headers=result.headers())


def _count_applied(
    request: Request, result: service.WriteResult | StoredResponse, kind: str
) -> None:
    """Count a write that stored something: not a dry run, a no-change update or a replay."""
    if isinstance(result, StoredResponse) or result.dry_run:
        return
    if kind == "registration" or result.plan.changed:
        request.app.state.metrics.write_applied(kind)


def _idempotency_key(request: Request, problems: list[Problem]) -> str | None:
    """The request's Idempotency-Key; a malformed one joins `problems`."""
    try:
        return idempotency.parse_key(request.headers.getlist(idempotency.HEADER))
    except ApiError as exc:
        problems += exc.errors
        return None


def _if_match(request: Request, problems: list[Problem]) -> service.IfMatch | None:
    """The request's If-Match precondition; a malformed one joins `problems`."""
    try:
        return service.IfMatch.parse(request.headers.getlist("if-match"))
    except ApiError as exc:
        problems += exc.errors
        return None


async def _buffered(request: Request) -> bytes:
    """The raw body, at most MAX_BODY_BYTES, read once so it can be fingerprinted and parsed."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ApiError.one(errors.BODY_TOO_LARGE, "The body is larger than 64 KiB")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError.one(errors.BODY_TOO_LARGE, "The body is larger than 64 KiB")
    return raw


async def _read(
    request: Request, model: type[M], key: str | None
) -> tuple[M, IdempotencyKey | None]:
    """The body as `model` and, when the request carries a key, its fingerprinted key."""
    if key is None:
        # No key, no extra work: the body is streamed straight into the wire model.
        return await read_body(request, model), None
    raw = await _buffered(request)

    async def receive() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    body = await read_body(Request(request.scope, receive), model)
    url = request.url
    return body, IdempotencyKey(
        key, idempotency.fingerprint(request.method, url.path, url.query, raw)
    )


def _details(found: service.Found, config: OrgConfig) -> Response:
    c = found.customer
    keys = found.selected if found.selected is not None else list(c.profiles)
    profiles = [c.profiles[k] for k in keys if k in c.profiles]
    return JsonResponse(
        customer_wire(c, profiles, config, found.warnings), headers={"ETag": etag(c)}
    )


@router.post(
    "/v2/customers",
    responses={200: {"model": WriteOut}},
    openapi_extra=_write_extra(CustomerRegisterIn, *WRITE_FLAGS, conditional=False),
)
async def register_customer(request: Request) -> Response:
    """Register a customer: one or more profiles, extended fields, loyalty type, enrolments."""
    who = await caller(request)
    problems: list[Problem] = []
    dry_run = _dry_run(request, problems)
    key = _idempotency_key(request, problems)
    try:
        body, retry = await _read(request, CustomerRegisterIn, key)
    except ApiError as exc:
        raise ApiError(problems + exc.errors) from None
    if problems:
        raise ApiError(problems)
    result = await service.register(
        who.db,
        who.config,
        who.principal,
        to_request(body),
        request_id=who.request_id,
        dry_run=dry_run,
        retry=retry,
    )
    _count_applied(request, result, "registration")
    return _write_response(result)


def _lookup(request: Request, config: OrgConfig, *, allow_all: bool) -> Lookup:
    """The lookup the request's query names (ApiError when it names none properly)."""
    source, account, name, value = (p.read(request) for p in LOOKUP)
    return parse_lookup(config, source, account, name, value, allow_all=allow_all)


@router.get(
    "/v2/customers/lookup", responses={200: {"model": LookupOut}}, openapi_extra=_params(*LOOKUP)
)
async def lookup_customer(request: Request) -> Response:
    """Find a customer's id by one of their identifiers (`source=ALL` searches every source)."""
    who = await caller(request)
    lookup = _lookup(request, who.config, allow_all=True)
    customer_id, warnings = await service.lookup_id(who.db, who.config, lookup)
    return JsonResponse({"entity": customer_id, "warnings": [w.to_wire() for w in warnings]})


@router.get(
    "/v2/customers/lookup/customerDetails",
    responses={200: {"model": CustomerOut}},
    openapi_extra=_params(*LOOKUP),
)
async def customer_details_by_lookup(request: Request) -> Response:
    """A customer's full details, found by identifier, with the profile of that source/account."""
    who = await caller(request)
    lookup = _lookup(request, who.config, allow_all=True)
    return _details(await service.details_by_lookup(who.db, who.config, lookup), who.config)


@router.put(
    "/v2/customers/lookup",
    responses={200: {"model": WriteOut}, **_PRECONDITION_FAILED},
    openapi_extra=_write_extra(CustomerUpdateIn, *LOOKUP, *WRITE_FLAGS, conditional=True),
)
async def update_customer_by_lookup(request: Request) -> Response:
    """Update Customer Details by lookup: change a customer found by identifier, atomically."""
    who = await caller(request)
    problems: list[Problem] = []
    dry_run = _dry_run(request, problems)
    target = None
    try:
        lookup = _lookup(request, who.config, allow_all=False)
    except ApiError as exc:
        problems += exc.errors
    else:
        if lookup.key is not None:
            target = service.Target(default_key=lookup.key, lookup=lookup)
    return await _update(request, who, target, problems, dry_run=dry_run)


@router.get(
    "/v2/customers/{customer_id}",
    responses={200: {"model": CustomerOut}},
    openapi_extra=_params(SOURCE, ACCOUNT_ID),
)
async def customer_details(customer_id: str, request: Request) -> Response:
    """A customer's full details by id: one source's profile, or every profile with `source=ALL`."""
    who = await caller(request)
    cid = _customer_id(customer_id)
    source = SOURCE.read(request)
    problems = Problems()
    key = None
    if source is not None:
        key = profile_selector(
            who.config, source, ACCOUNT_ID.read(request), allow_all=True, problems=problems
        )
        if problems.errors:
            raise ApiError(problems.errors)
    return _details(await service.details_by_id(who.db, who.config, cid, key), who.config)


@router.put(
    "/v2/customers/{customer_id}",
    responses={200: {"model": WriteOut}, **_PRECONDITION_FAILED},
    openapi_extra=_write_extra(
        CustomerUpdateIn, SOURCE, ACCOUNT_ID, *WRITE_FLAGS, conditional=True
    ),
)
async def update_customer(customer_id: str, request: Request) -> Response:
    """The same update as by lookup, the customer named by id; `source` names the default profile."""
    who = await caller(request)
    cid = _customer_id(customer_id)
    problems: list[Problem] = []
    dry_run = _dry_run(request, problems)
    selected = Problems()
    key = profile_selector(
        who.config,
        SOURCE.read(request),
        ACCOUNT_ID.read(request),
        allow_all=False,
        problems=selected,
    )
    problems += selected.errors
    target = None if key is None else service.Target(default_key=key, customer_id=cid)
    return await _update(request, who, target, problems, dry_run=dry_run)


async def _update(
    request: Request,
    who: Caller,
    target: service.Target | None,
    problems: list[Problem],
    *,
    dry_run: bool,
) -> Response:
    """The shared tail of both PUT routes: headers, body, then the update; all problems together."""
    idempotency_key = _idempotency_key(request, problems)
    if_match = _if_match(request, problems)
    try:
        body, retry = await _read(request, CustomerUpdateIn, idempotency_key)
    except ApiError as exc:
        raise ApiError(problems + exc.errors) from None
    if problems or target is None:
        raise ApiError(problems)
    result = await service.update(
        who.db,
        who.config,
        who.principal,
        target,
        to_request(body),
        request_id=who.request_id,
        dry_run=dry_run,
        retry=retry,
        if_match=if_match,
    )
    _count_applied(request, result, "update")
    return _write_response(result)


@router.get("/v2/customers/{customer_id}/changes", responses={200: {"model": HistoryOut}})
async def customer_changes(
    customer_id: str,
    who: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Entries per page.")] = 20,
    cursor: Annotated[str | None, Query(description="nextCursor of the previous page.")] = None,
) -> Response:
    """The customer's change history, newest first, a page at a time."""
    cid = _customer_id(customer_id)
    before = None
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()) or not 0 < int(cursor) < 2**31:
            raise ApiError.one(
                errors.INVALID_QUERY, "cursor is not a cursor this API gave", "cursor"
            )
        before = int(cursor)
    rows, next_cursor = await service.history(
        who.db, who.config, cid, limit=limit, before_version=before
    )
    return JsonResponse(
        {
            "data": history_wire(rows),
            "nextCursor": None if next_cursor is None else str(next_cursor),
        }
    )
