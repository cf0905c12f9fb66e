"""What the auth layer gives a route: the authenticated caller, and the admin token's check.

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
from patron.api.client_address import client_address
from patron.auth.caller import Caller, caller
from patron.auth.throttle import AuthThrottle
from patron.errors import ApiError


async def require_admin(request: Request) -> None:
    """The admin bearer token, compared in constant time; 401 without detail otherwise.

    Both sides are hashed before the comparison, so neither the time taken nor the answer
    depends on how long the offered token is. Wrong bearer tokens are counted per client
    address apart from till and OAuth failures (`patron.auth.throttle`); past the limit, an
    address is refused with 429 first unless it offers the token that already worked from it.
    A request without a bearer token is 401 and not counted.
    """
    expected: str | None = request.app.state.settings.admin_token
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError.one(errors.UNAUTHORIZED, "Invalid or missing credentials")
    throttle: AuthThrottle = request.app.state.authenticator.throttle
    address = client_address(request)
    offered = hashlib.sha256(token.strip().encode()).digest()
    throttle.check_admin(address, offered)
    wanted = hashlib.sha256(expected.encode()).digest() if expected is not None else None
    if wanted is None or not hmac.compare_digest(offered, wanted):
        throttle.admin_failed(address)
        raise ApiError.one(errors.UNAUTHORIZED, "Invalid or missing credentials")
    throttle.admin_succeeded(address, offered)


CallerDep = Annotated[Caller, Depends(caller)]
"""The authenticated caller, for routes whose other parameters FastAPI validates: as a dependency
it is solved before them, so a bad credential is answered 401 whatever the query holds."""
ADMIN = Depends(require_admin)
"""The admin routes' dependency, given where they are included (`patron.app`), so that the org
package, which authentication reads, does not import authentication back."""
