"""HTTP routes of the member-care console (`/console`): installing it, its static files, sign-in
and sign-out. The customer pages are in `customer_routes`; what every route reads from a request
is in `patron.console.requests`.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from patron.api.client_address import client_address
from patron.auth.throttle import Throttled
from patron.console import customer_routes, pages, signin
from patron.console.requests import (
    SignInRequired,
    codec,
    posted,
    read_form,
    redirect,
    signed_in_user,
)
from patron.console.sessions import COOKIE, PATH, SessionCodec
from patron.errors import ApiError

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {
    "console.css": "text/css; charset=utf-8",
    "htmx.min.js": "text/javascript; charset=utf-8",
}
"""The files the pages load; nothing else of the package is served."""


def install(app: FastAPI) -> None:
    """Serve the console at `/console` (only when a secret key can sign its sessions)."""
    settings = app.state.settings
    if not settings.secret_key:
        return
    app.state.console_sessions = SessionCodec(
        settings.secret_key, ttl_seconds=settings.console_session_seconds
    )
    app.include_router(router)
    app.include_router(customer_routes.router)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, exc: SignInRequired) -> Response:
        return redirect(request, f"{PATH}/sign-in")


@router.get(f"{PATH}/static/{{name}}")
async def static(name: str) -> Response:
    """The console's style sheet and script (public: they hold no data)."""
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return Response(status_code=404, headers=pages.SECURITY_HEADERS)
    return FileResponse(
        STATIC / name,
        media_type=media_type,
        headers={**pages.SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"},
    )


# --- signing in and out -----------------------------------------------------------------


@router.get(f"{PATH}/sign-in")
async def sign_in_page(request: Request) -> Response:
    """The sign-in form."""
    return pages.page("sign_in.html", login="", problem=None)


@router.post(f"{PATH}/sign-in")
async def sign_in(request: Request) -> Response:
    """Check a login and password; on success set the session cookie and go to the search."""
    data = await read_form(request)
    login, password = data.get("login", ""), data.get("password", "")
    state = request.app.state
    try:
        config, user = await signin.sign_in(
            state.db,
            state.orgs,
            state.authenticator.throttle,
            client_address(request),
            login,
            password,
        )
    except Throttled as exc:
        return pages.page("sign_in.html", 429, exc.headers, login=login, problem=exc.errors[0])
    except ApiError as exc:
        return pages.page("sign_in.html", exc.status, login=login, problem=exc.errors[0])
    sessions = codec(request)
    response = redirect(request, PATH)
    response.set_cookie(
        COOKIE,
        sessions.issue(config.org_id, user.login, user.password_hash, now=time.time()),
        max_age=sessions.ttl_seconds,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post(f"{PATH}/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session in this browser and go back to the sign-in page."""
    user = await signed_in_user(request)
    data = await posted(request, user)
    if isinstance(data, Response):
        return data
    response = redirect(request, f"{PATH}/sign-in")
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
    return response
