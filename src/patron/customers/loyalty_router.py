"""HTTP routes of points and tiers (SPEC 10.3): loyaltyDetails by id and by lookup, and the
points expiry schedule.

Like the other customer GET routes, they read their caller and query parameters by hand
(`patron.auth.caller`, `patron.customers.params`) and declare them for the OpenAPI document. The lookup
route is declared first so that `/v2/customers/lookup/loyaltyDetails` is never read as the
customer id "lookup".
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from patron import errors
from patron.api.openapi import ERROR_RESPONSES
from patron.api.query import QueryParam
from patron.api.responses import JsonResponse
from patron.auth.caller import caller
from patron.customers import loyalty_service, params, points
from patron.customers.loyalty_schemas import LoyaltyDetailsOut, PointsExpiryScheduleOut
from patron.customers.params import LOOKUP, read_extra
from patron.errors import ApiError, Problems

router = APIRouter(tags=["customers"], responses=ERROR_RESPONSES)

PROGRAM_ID = QueryParam(
    "programId",
    "Only this program's entry (a program id of the org).",
    schema={"pattern": "^[0-9]{1,18}$"},
)


def _program_id(request: Request, problems: Problems) -> int | None:
    """The optional programId filter; a value that is not a whole number joins `problems`."""
    raw = PROGRAM_ID.read(request)
    if raw is None:
        return None
    value = raw.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        problems.error(errors.INVALID_QUERY, "programId must be a program id", PROGRAM_ID.name)
        return None
    return int(value)


@router.get(
    "/v2/customers/lookup/loyaltyDetails",
    responses={200: {"model": LoyaltyDetailsOut}},
    openapi_extra=read_extra(*LOOKUP, PROGRAM_ID),
)
async def loyalty_details_by_lookup(request: Request) -> Response:
    """Points and tier per program of a customer found by identifier, computed now."""
    who = await caller(request)
    problems = Problems()
    program_id = _program_id(request, problems)
    try:
        lookup = params.lookup(request, who.config, allow_all=True)
    except ApiError as exc:
        raise ApiError(exc.errors + problems.errors) from None
    if problems.errors:
        raise ApiError(problems.errors)
    found = await loyalty_service.loyalty_by_lookup(
        who.db, who.config, lookup, program_id=program_id
    )
    entries = points.loyalty_entries(found.enrolments, found.sums, who.config)
    return JsonResponse(
        {"data": entries, "warnings": [w.to_wire() for w in found.warnings], "errors": []}
    )


@router.get(
    "/v2/customers/{customer_id}/loyaltyDetails",
    responses={200: {"model": LoyaltyDetailsOut}},
    openapi_extra=read_extra(PROGRAM_ID),
)
async def loyalty_details(customer_id: str, request: Request) -> Response:
    """Points and tier per program the customer is enrolled in, computed from the ledger now."""
    who = await caller(request)
    cid = params.customer_id(customer_id)
    problems = Problems()
    program_id = _program_id(request, problems)
    if problems.errors:
        raise ApiError(problems.errors)
    found = await loyalty_service.loyalty_by_id(who.db, who.config, cid, program_id=program_id)
    entries = points.loyalty_entries(found.enrolments, found.sums, who.config)
    return JsonResponse({"data": entries, "warnings": [], "errors": []})


@router.get(
    "/v2/customers/{customer_id}/pointsExpirySchedule",
    responses={200: {"model": PointsExpiryScheduleOut}},
)
async def points_expiry_schedule(customer_id: str, request: Request) -> Response:
    """Credited points that have not expired yet, summed per expiry day and program, soonest first."""
    who = await caller(request)
    cid = params.customer_id(customer_id)
    credits = await loyalty_service.expiry_schedule(who.db, who.config, cid)
    return JsonResponse(
        {"id": cid, "expirySchedules": points.expiry_schedule(credits), "warnings": []}
    )
