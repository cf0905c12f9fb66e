"""HTTP route of OAuth: exchange a client's key and secret for an access token (SPEC section 4)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.requests import Request

from patron.api.body import read_body
from patron.api.deps import DbDep
from patron.api.openapi import ERROR_RESPONSES, json_body
from patron.api.responses import JsonResponse
from patron.auth.service import MAX_SECRET_LENGTH, Authenticator

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
    responses={status: ERROR_RESPONSES[status] for status in (400, 401, 413, 415)},
    openapi_extra=json_body(TokenRequest),
)
async def generate_token(request: Request, db: DbDep) -> JsonResponse:
    """Exchange an OAuth client's key and secret for a short-lived access token."""
    body = await read_body(request, TokenRequest)
    authenticator: Authenticator = request.app.state.authenticator
    issued = await authenticator.issue_token(db, body.key, body.secret)
    answer = TokenResponse(
        data=TokenData(access_token=issued.access_token, ttl_seconds=issued.ttl_seconds)
    )
    return JsonResponse(
        answer.model_dump(by_alias=True),
        # RFC 6749 5.1: a response carrying a token must not be stored by caches.
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
