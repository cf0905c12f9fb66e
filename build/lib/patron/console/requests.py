"""What every console route reads from a request: its session, its form, its CSRF token.

Every route but the sign-in page and the static files needs a session: without one a page is
answered with the way to the sign-in page (`SignInRequired`), and nothing else. Every POST
checks the session's CSRF token before anything else (`posted`).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from patron import errors
from patron.console import pages, signin
from patron.console.sessions import COOKIE, SessionCodec
from patron.console.signin import SignedIn
from patron.errors import Problem

MAX_FORM_BYTES = 64 * 1024


class SignInRequired(Exception):
    """The request has no valid session: it is answered with the way to the sign-in page."""


def codec(request: Request) -> SessionCodec:
    """The application's session codec."""
    codec: SessionCodec = request.app.state.console_sessions
    return codec


def redirect(request: Request, url: str) -> Response:
    """A redirect after a POST or to the sign-in page; htmx is told to load the page whole."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url, **pages.SECURITY_HEADERS})
    return RedirectResponse(url, status_code=303, headers=pages.SECURITY_HEADERS)


async def signed_in_user(request: Request) -> SignedIn:
    """The signed-in console user of the request; `SignInRequired` otherwise."""
    state = request.app.state
    user = await signin.signed_in(
        state.orgs, codec(request), request.cookies.get(COOKIE), now=time.time()
    )
    if user is None:
        raise SignInRequired()
    # The request log line names the org and the console user (patron.api.middleware).
    request.state.principal = user.principal
    return user


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (at most MAX_FORM_BYTES; the last of repeated names wins)."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            break
    if len(raw) > MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def common(request: Request, user: SignedIn) -> dict[str, Any]:
    """What every signed-in page shows: who is signed in, and the session's CSRF token."""
    return {
        "user": user.user,
        "org": user.config,
        "csrf": codec(request).csrf_token(user.session),
    }


def refused(request: Request, user: SignedIn, problem: Problem) -> Response:
    """A page saying why nothing was done, with the problem's status."""
    # An htmx form swaps only its own section; a refusal replaces the whole page body instead.
    headers = (
        {"HX-Retarget": "main", "HX-Reselect": "main", "HX-Reswap": "outerHTML"}
        if request.headers.get("hx-request") == "true"
        else None
    )
    return pages.page(
        "refused.html", problem.entry.status, headers, problem=problem, **common(request, user)
    )


async def posted(request: Request, user: SignedIn) -> dict[str, str] | Response:
    """The form of a POST whose CSRF token is this session's; a refusal page otherwise."""
    data = await read_form(request)
    if not codec(request).csrf_ok(user.session, data.get("csrf")):
        return refused(
            request,
            user,
            Problem(
                errors.CONSOLE_CSRF,
                "This form is not from your session; reload the page and try again.",
            ),
        )
    return data


def customer_id_of(raw: str) -> int | None:
    """The customer id a path or query names, or None when it cannot be one."""
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**63 else None
