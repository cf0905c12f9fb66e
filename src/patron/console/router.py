"""HTTP routes of the member-care console (`/console`): read the request, call a service, render.

Every route but the sign-in page and the static files needs a session: without one a page is
answered with a redirect to the sign-in page (`SignInRequired`), and nothing else. Every POST
checks the session's CSRF token before anything else; changes also need the editor role, checked
here on the server whatever the page showed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from patron import errors
from patron.auth.throttle import Throttled, address_key, throttle_for
from patron.console import edits, forms, pages, signin, views
from patron.console.sessions import COOKIE, PATH, SessionCodec
from patron.console.signin import SignedIn
from patron.customers import service
from patron.customers.lookup import parse_lookup
from patron.customers.render import history_wire
from patron.db.driver import Database
from patron.errors import ApiError, Problem
from patron.orgs.model import CHANNEL_TYPES, IDENTIFIER_TYPES

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 64 * 1024
HISTORY_PAGE = 20
STATIC = Path(__file__).parent / "static"
STATIC_FILES = {
    "console.css": "text/css; charset=utf-8",
    "htmx.min.js": "text/javascript; charset=utf-8",
}
"""The files the pages load; nothing else of the package is served."""


class SignInRequired(Exception):
    """The request has no valid session: it is answered with the way to the sign-in page."""


def install(app: FastAPI) -> None:
    """Serve the console at `/console` (only when a secret key can sign its sessions)."""
    settings = app.state.settings
    if not settings.secret_key:
        return
    app.state.console_sessions = SessionCodec(
        settings.secret_key, ttl_seconds=settings.console_session_seconds
    )
    app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, exc: SignInRequired) -> Response:
        return _go(request, f"{PATH}/sign-in")


def _codec(request: Request) -> SessionCodec:
    codec: SessionCodec = request.app.state.console_sessions
    return codec


def _go(request: Request, url: str) -> Response:
    """A redirect after a POST or to the sign-in page; htmx is told to load the page whole."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url, **pages.SECURITY_HEADERS})
    return RedirectResponse(url, status_code=303, headers=pages.SECURITY_HEADERS)


async def _user(request: Request) -> SignedIn:
    """The signed-in console user of the request; `SignInRequired` otherwise."""
    state = request.app.state
    user = await signin.signed_in(
        state.orgs, _codec(request), request.cookies.get(COOKIE), now=time.time()
    )
    if user is None:
        raise SignInRequired()
    # The request log line names the org and the console user (patron.api.middleware).
    request.state.principal = user.principal
    return user


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body (at most MAX_FORM_BYTES; the last of repeated names wins)."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            break
    if len(raw) > MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _common(request: Request, user: SignedIn) -> dict[str, Any]:
    """What every signed-in page shows: who is signed in, and the session's CSRF token."""
    return {
        "user": user.user,
        "org": user.config,
        "csrf": _codec(request).csrf_token(user.session),
    }


def _refused(request: Request, user: SignedIn, problem: Problem) -> Response:
    # An htmx form swaps only its own section; a refusal replaces the whole page body instead.
    headers = (
        {"HX-Retarget": "main", "HX-Reselect": "main", "HX-Reswap": "outerHTML"}
        if request.headers.get("hx-request") == "true"
        else None
    )
    return pages.page(
        "refused.html", problem.entry.status, headers, problem=problem, **_common(request, user)
    )


async def _posted(request: Request, user: SignedIn) -> dict[str, str] | Response:
    """The form of a POST whose CSRF token is this session's; a refusal page otherwise."""
    data = await _form(request)
    if not _codec(request).csrf_ok(user.session, data.get("csrf")):
        return _refused(
            request,
            user,
            Problem(
                errors.CONSOLE_CSRF,
                "This form is not from your session; reload the page and try again.",
            ),
        )
    return data


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
    data = await _form(request)
    login, password = data.get("login", ""), data.get("password", "")
    state = request.app.state
    try:
        config, user = await signin.sign_in(
            state.db, state.orgs, throttle_for(request), address_key(request), login, password
        )
    except Throttled as exc:
        return pages.page("sign_in.html", 429, exc.headers, login=login, problem=exc.errors[0])
    except ApiError as exc:
        return pages.page("sign_in.html", exc.status, login=login, problem=exc.errors[0])
    codec = _codec(request)
    response = _go(request, PATH)
    response.set_cookie(
        COOKIE,
        codec.issue(config.org_id, user.login, user.password_hash, now=time.time()),
        max_age=codec.ttl_seconds,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post(f"{PATH}/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session in this browser and go back to the sign-in page."""
    user = await _user(request)
    data = await _posted(request, user)
    if isinstance(data, Response):
        return data
    response = _go(request, f"{PATH}/sign-in")
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
    return response


# --- finding a customer -----------------------------------------------------------------


def _search_page(
    request: Request,
    user: SignedIn,
    problems: list[Problem],
    query: dict[str, str] | None = None,
) -> Response:
    status = 200
    if problems:
        status = min(p.entry.status for p in problems)
    return pages.page(
        "search.html",
        status,
        problems=problems,
        query={"id": "", "identifierName": "mobile", "identifierValue": "", "source": "ALL"}
        | (query or {}),
        identifier_types=IDENTIFIER_TYPES,
        sources=["ALL", *views.profile_options(user.config)],
        **_common(request, user),
    )


def _not_found(request: Request, user: SignedIn, raw: str) -> Response:
    shown = raw.strip()[:40]
    problem = Problem(errors.CUSTOMER_NOT_FOUND, f"No customer has the id {shown}.", "id")
    return _search_page(request, user, [problem], {"id": shown})


def _customer_id(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**63 else None


@router.get(PATH)
async def search(request: Request) -> Response:
    """The search page; with a query, the customer it finds (or why none was found)."""
    user = await _user(request)
    q = request.query_params
    db = request.app.state.db
    if "id" in q:
        cid = _customer_id(q["id"])
        if cid is None or not await _exists(db, user, cid):
            return _not_found(request, user, q["id"])
        return RedirectResponse(f"{PATH}/customers/{cid}", 303, headers=pages.SECURITY_HEADERS)
    if "identifierValue" not in q:
        return _search_page(request, user, [])
    query = {k: q.get(k, "") for k in ("identifierName", "identifierValue", "source")}
    source, _, account = (query["source"] or "ALL").partition("/")
    try:
        lookup = parse_lookup(
            user.config,
            source,
            account or None,
            query["identifierName"],
            query["identifierValue"],
            allow_all=True,
        )
        found, _ = await service.lookup_id(db, user.config, lookup)
    except ApiError as exc:
        problems = [
            Problem(
                p.entry,
                f"No customer has {query['identifierName']} {query['identifierValue'].strip()} "
                f"in {'any source' if source == 'ALL' else query['source']}"
                + (
                    ", but one has it in another source."
                    if p.entry.status == 404 and p.entry is not errors.CUSTOMER_NOT_FOUND
                    else "."
                ),
                p.field,
            )
            if p.entry.status == 404
            else p
            for p in exc.errors
        ]
        return _search_page(request, user, problems, query)
    return RedirectResponse(f"{PATH}/customers/{found}", 303, headers=pages.SECURITY_HEADERS)


async def _exists(db: Database, user: SignedIn, cid: int) -> bool:
    try:
        await service.details_by_id(db, user.config, cid, None)
    except ApiError:
        return False
    return True


# --- the customer page ------------------------------------------------------------------


@router.get(f"{PATH}/customers/{{customer_id}}")
async def customer_page(customer_id: str, request: Request) -> Response:
    """Everything about one customer, and their history as a timeline, newest first."""
    user = await _user(request)
    cid = _customer_id(customer_id)
    db = request.app.state.db
    if cid is None:
        return _not_found(request, user, customer_id)
    before_raw = request.query_params.get("before")
    before = _customer_id(before_raw) if before_raw else None
    try:
        found = await service.details_by_id(db, user.config, cid, None)
        rows, next_cursor = await service.history(
            db, user.config, cid, limit=HISTORY_PAGE, before_version=before
        )
    except ApiError:
        return _not_found(request, user, customer_id)
    return pages.page(
        "customer.html",
        customer=found.customer,
        profiles=views.profiles(found.customer),
        enrolments=views.enrolments(found.customer, user.config),
        history=history_wire(rows),
        older=None if next_cursor is None else f"?{urlencode({'before': next_cursor})}",
        saved=request.query_params.get("saved") == "1",
        **_common(request, user),
    )


# --- changing a customer ----------------------------------------------------------------


def _edit_page(
    request: Request,
    user: SignedIn,
    cid: int,
    form: forms.EditForm,
    *,
    status: int = 200,
    problems: list[Problem] | None = None,
    warnings: list[Problem] | None = None,
    changes: list[dict[str, object]] | None = None,
    conflict: bool = False,
) -> Response:
    by_input: dict[str, list[Problem]] = {}
    general: list[Problem] = []
    for p in problems or []:
        name = forms.input_of(p.field, form)
        if name is None:
            general.append(p)
        else:
            by_input.setdefault(name, []).append(p)
    return pages.page(
        "edit.html",
        status,
        cid=cid,
        form=form,
        errors=by_input,
        general=general,
        warnings=warnings or [],
        changes=changes,
        conflict=conflict,
        channel_types=CHANNEL_TYPES,
        **_common(request, user),
    )


def _forbidden(request: Request, user: SignedIn) -> Response:
    return _refused(
        request,
        user,
        Problem(errors.CONSOLE_FORBIDDEN, "Your role is viewer: only editors change customers."),
    )


@router.get(f"{PATH}/customers/{{customer_id}}/edit")
async def edit_page(customer_id: str, request: Request) -> Response:
    """The edit form of one profile of a customer (editors only)."""
    user = await _user(request)
    if not user.user.can_edit:
        return _forbidden(request, user)
    cid = _customer_id(customer_id)
    key = forms.parse_profile(request.query_params.get("profile", ""), user.config)
    if cid is None:
        return _not_found(request, user, customer_id)
    try:
        found = await service.details_by_id(request.app.state.db, user.config, cid, None)
    except ApiError:
        return _not_found(request, user, customer_id)
    if key is None or key not in found.customer.profiles:
        return RedirectResponse(f"{PATH}/customers/{cid}", 303, headers=pages.SECURITY_HEADERS)
    return _edit_page(request, user, cid, forms.from_customer(found.customer, key, user.config))


@router.post(f"{PATH}/customers/{{customer_id}}/edit")
async def edit(customer_id: str, request: Request) -> Response:
    """Preview (a dry run listing every change) or save (If-Match on the version shown)."""
    user = await _user(request)
    data = await _posted(request, user)
    if isinstance(data, Response):
        return data
    if not user.user.can_edit:
        return _forbidden(request, user)
    cid = _customer_id(customer_id)
    key = forms.parse_profile(data.get("profile", ""), user.config)
    if cid is None or key is None:
        return _not_found(request, user, customer_id)
    form = forms.from_post(data, key, user.config)
    dry_run = data.get("action") != "save"
    try:
        result = await edits.apply(
            request.app.state.db,
            user,
            cid,
            form,
            request_id=request.state.request_id,
            dry_run=dry_run,
        )
    except ApiError as exc:
        conflict = any(p.entry is errors.PRECONDITION_FAILED for p in exc.errors)
        return _edit_page(
            request,
            user,
            cid,
            form,
            status=exc.status,
            problems=[p for p in exc.errors if p.entry is not errors.PRECONDITION_FAILED],
            warnings=exc.warnings,
            conflict=conflict,
        )
    if dry_run:
        return _edit_page(
            request,
            user,
            cid,
            form,
            warnings=result.plan.warnings,
            changes=[c.to_wire() for c in result.plan.changes],
        )
    if result.plan.changed:
        request.app.state.metrics.write_applied("update")
    return _go(request, f"{PATH}/customers/{cid}?saved=1")
