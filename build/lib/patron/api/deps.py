"""FastAPI dependencies, declared once as `Annotated` aliases and used as type hints in routes.

Every dependency is `async def`, even the trivial ones: FastAPI runs a plain `def` dependency in
a worker thread, which costs more than the dependency itself on every request.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from patron import errors
from patron.api.caller import Caller, caller
from patron.auth.throttle import address_key, throttle_for
from patron.config import Settings
from patron.db.driver import Database
from patron.errors import ApiError
from patron.orgs.cache import OrgConfigCache


async def get_settings_dep(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Database:
    """The application's database."""
    db: Database = request.app.state.db
    return db


async def get_org_cache(request: Request) -> OrgConfigCache:
    """The process's org configuration cache."""
    cache: OrgConfigCache = request.app.state.orgs
    return cache


async def require_admin(request: Request) -> None:
    """The admin bearer token, compared in constant time; 401 without detail otherwise.

    Both sides are hashed before the comparison, so neither the time taken nor the answer
    depends on how long the offered token is. Failed bearer attempts count against the client
    address (`patron.auth.throttle`); a throttled address is refused with 429 first.
    """
    expected: str | None = request.app.state.settings.admin_token
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError.one(errors.UNAUTHORIZED, "Invalid or missing credentials")
    throttle = throttle_for(request)
    address = address_key(request)
    throttle.check(address)
    offered = hashlib.sha256(token.strip().encode()).digest()
    wanted = hashlib.sha256(expected.encode()).digest() if expected is not None else None
    if wanted is None or not hmac.compare_digest(offered, wanted):
        throttle.failed(address)
        raise ApiError.one(errors.UNAUTHORIZED, "Invalid or missing credentials")


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DbDep = Annotated[Database, Depends(get_db)]
OrgCacheDep = Annotated[OrgConfigCache, Depends(get_org_cache)]
CallerDep = Annotated[Caller, Depends(caller)]
"""The authenticated caller, for routes whose other parameters FastAPI validates: as a dependency
it is solved before them, so a bad credential is answered 401 whatever the query holds."""
AdminDep = Annotated[None, Depends(require_admin)]
