"""HTTP route of OAuth: exchange a client's key and secret for an access token (SPEC section 4)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.requests import Request
from starlette.responses import Response

from patron.api.body import read_body
from patron.api.openapi import ERROR_RESPONSES, ErrorBody, json_body
from patron.api.responses import JsonResponse, error_response
from patron.auth.service import MAX_CODE_LENGTH, MAX_SECRET_LENGTH, Authenticator
from patron.auth.throttle import Throttled, address_key, oauth_key, throttle_for
from patron.errors import ApiError

router = APIRouter(tags=["auth"])


class TokenRequest(BaseModel):
    """The OAuth client's credentials."""

    key: StrictStr = Field(max_length=MAX_SECRET_LENGTH, description="The OAuth client key.")
    secret: StrictStr = Field(max_length=MAX_SECRET_LENGTH, description="Its secret.")


class TokenData(BaseModel):
    """A token to send as `X-CAP-API-OAUTH-TOKEN`, and how long it lives."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    access_token: str = Field(alias="accessToken")
    ttl_seconds: int = Field(alias="ttlSeconds")


class TokenResponse(BaseModel):
    """The answer of token generation."""

    data: TokenData
    errors: None = None


@router.post(
    "/v3/oauth/token/generate",
    response_model=TokenResponse,
    responses={
        **{status: ERROR_RESPONSES[status] for status in (400, 401, 413, 415)},
        429: {"model": ErrorBody, "description": "Too many failed attempts; see Retry-After"},
    },
    openapi_extra=json_body(TokenRequest),
)
async def generate_token(request: Request) -> Response:
    """Exchange an OAuth client's key and secret for a short-lived access token."""
    body = await read_body(request, TokenRequest)
    authenticator: Authenticator = request.app.state.authenticator
    throttle = throttle_for(request)
    # A key longer than any stored one cannot match: it counts against the address only, so
    # that counters stay small.
    keys = (
        address_key(request),
        oauth_key(body.key) if len(body.key) <= MAX_CODE_LENGTH else None,
    )
    try:
        throttle.check(*keys)
    except Throttled as exc:
        return throttled_response(exc)
    try:
        issued = await authenticator.issue_token(body.key, body.secret)
    except ApiError as exc:
        if exc.status == 401:
            throttle.failed(*keys)
        raise
    answer = TokenResponse(
        data=TokenData(access_token=issued.access_token, ttl_seconds=issued.ttl_seconds)
    )
    return JsonResponse(
        answer.model_dump(by_alias=True),
        # RFC 6749 5.1: a response carrying a token must not be stored by caches.
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def throttled_response(exc: Throttled) -> Response:
    """The 429 of a throttled attempt, with its `Retry-After`."""
    return error_response(exc, exc.headers)


async def throttled_handler(request: Request, exc: Exception) -> Response:
    """Exception handler rendering `Throttled` (register it for `Throttled` on the app)."""
    if not isinstance(exc, Throttled):  # registered for Throttled only
        raise exc
    return throttled_response(exc)
