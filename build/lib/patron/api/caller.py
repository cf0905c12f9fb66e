"""Who is calling and with what: the authenticated context of a customer route, read by hand.

The customer routes are the hot path. FastAPI's dependency injection re-inspects every declared
parameter and dependency on every request (about a quarter of an update's Python time when these
were dependencies), so those routes take the `Request` and ask for what they need here: one
call, the same checks in the same order (credential first, then the org's configuration).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from patron import errors
from patron.auth.principal import Principal
from patron.db.driver import Database
from patron.errors import ApiError
from patron.orgs.cache import OrgConfigCache
from patron.orgs.model import OrgConfig


@dataclass(slots=True, frozen=True)
class Caller:
    """An authenticated request's context: its database, till, org configuration and id."""

    db: Database
    principal: Principal
    config: OrgConfig
    request_id: str


async def authenticate(request: Request) -> Principal:
    """The till a Basic credential or an OAuth token proves; 401 otherwise."""
    principal: Principal = await request.app.state.authenticator.authenticate(request)
    # The request log line names the org and till (patron.api.middleware).
    request.state.principal = principal
    return principal


async def org_config(principal: Principal, cache: OrgConfigCache) -> OrgConfig:
    """The configuration of the caller's org; 401 if the org vanished since authentication."""
    config = await cache.get(principal.org_id)
    if config is None:
        raise ApiError.one(errors.UNAUTHORIZED, "Invalid or missing credentials")
    return config


async def caller(request: Request) -> Caller:
    """The request's authenticated context; 401 (or 429 when throttled) otherwise."""
    principal = await authenticate(request)
    state = request.app.state
    config = await org_config(principal, state.orgs)
    return Caller(state.db, principal, config, request.state.request_id)
