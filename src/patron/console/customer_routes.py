"""HTTP routes of the console's customer pages: search, the customer page, and edits.

Each reads the request, calls the customer service (`patron.customers.service`, the API's own)
and renders a page; changes need the editor role, checked here on the server whatever the page
showed.
"""

from __future__ import annotations

from collections.abc import Awaitable
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from patron import errors
from patron.console import consent as console_consent
from patron.console import edits, forms, identifiers, pages, views
from patron.console.requests import (
    common,
    customer_id_of,
    posted,
    redirect,
    refused,
    signed_in_user,
)
from patron.console.sessions import PATH
from patron.console.signin import SignedIn
from patron.customers import consent_service, loyalty_service, points, service
from patron.customers.consent import listed
from patron.customers.consent_service import ConsentResult, ConsentTarget
from patron.customers.lookup import parse_lookup
from patron.customers.render import history_wire
from patron.db.driver import Database
from patron.errors import ApiError, Problem
from patron.orgs.model import CHANNEL_TYPES, IDENTIFIER_TYPES

router = APIRouter(include_in_schema=False)

ChangeResult = service.WriteResult | ConsentResult
"""What a one-click change's preview lists: a write's result or a consent change's."""

HISTORY_PAGE = 20


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
        **common(request, user),
    )


def _not_found(request: Request, user: SignedIn, raw: str) -> Response:
    shown = raw.strip()[:40]
    problem = Problem(errors.CUSTOMER_NOT_FOUND, f"No customer has the id {shown}.", "id")
    return _search_page(request, user, [problem], {"id": shown})


@router.get(PATH)
async def search(request: Request) -> Response:
    """The search page; with a query, the customer it finds (or why none was found)."""
    user = await signed_in_user(request)
    q = request.query_params
    db = request.app.state.db
    if "id" in q:
        cid = customer_id_of(q["id"])
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
        problems = [_no_match(p, query) if p.entry.status == 404 else p for p in exc.errors]
        return _search_page(request, user, problems, query)
    return RedirectResponse(f"{PATH}/customers/{found}", 303, headers=pages.SECURITY_HEADERS)


def _no_match(problem: Problem, query: dict[str, str]) -> Problem:
    """A lookup's 404 as a sentence naming what was searched for."""
    where = "any source" if query["source"] in ("", "ALL") else query["source"]
    searched = f"{query['identifierName']} {query['identifierValue'].strip()}"
    elsewhere = problem.entry is errors.FOUND_IN_OTHER_SOURCE
    tail = ", but a customer has it in another source." if elsewhere else "."
    return Problem(problem.entry, f"No customer has {searched} in {where}{tail}", problem.field)


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
    user = await signed_in_user(request)
    cid = customer_id_of(customer_id)
    db = request.app.state.db
    if cid is None:
        return _not_found(request, user, customer_id)
    before_raw = request.query_params.get("before")
    before = customer_id_of(before_raw) if before_raw else None
    try:
        found = await service.details_by_id(db, user.config, cid, None)
        rows, next_cursor = await service.history(
            db, user.config, cid, limit=HISTORY_PAGE, before_version=before
        )
        consent = await consent_service.read(db, user.config, ConsentTarget(customer_id=cid))
        sums = await loyalty_service.ledger_sums(db, user.config, cid)
        credits = await loyalty_service.expiry_schedule(db, user.config, cid)
    except ApiError:
        return _not_found(request, user, customer_id)
    return pages.page(
        "customer.html",
        customer=found.customer,
        profiles=views.profiles(found.customer),
        enrolments=views.enrolments(found.customer, sums, user.config),
        schedule=points.expiry_schedule(credits),
        consent=listed(consent.states, user.config),
        program_names=views.program_names(user.config),
        history=history_wire(rows),
        older=None if next_cursor is None else f"?{urlencode({'before': next_cursor})}",
        saved=request.query_params.get("saved") == "1",
        **common(request, user),
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
        **common(request, user),
    )


def _forbidden(request: Request, user: SignedIn) -> Response:
    return refused(
        request,
        user,
        Problem(errors.CONSOLE_FORBIDDEN, "Your role is viewer: only editors change customers."),
    )


@router.get(f"{PATH}/customers/{{customer_id}}/edit")
async def edit_page(customer_id: str, request: Request) -> Response:
    """The edit form of one profile of a customer (editors only)."""
    user = await signed_in_user(request)
    if not user.user.can_edit:
        return _forbidden(request, user)
    cid = customer_id_of(customer_id)
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


async def _editor_post(
    request: Request, customer_id: str
) -> tuple[SignedIn, dict[str, str], int] | Response:
    """What every editing POST starts with: the signed-in editor, the form (its CSRF token
    checked) and the customer id of the path; the refusal page otherwise."""
    user = await signed_in_user(request)
    data = await posted(request, user)
    if isinstance(data, Response):
        return data
    if not user.user.can_edit:
        return _forbidden(request, user)
    cid = customer_id_of(customer_id)
    if cid is None:
        return _not_found(request, user, customer_id)
    return user, data, cid


@router.post(f"{PATH}/customers/{{customer_id}}/edit")
async def edit(customer_id: str, request: Request) -> Response:
    """Preview (a dry run listing every change) or save (If-Match on the version shown)."""
    edit_post = await _editor_post(request, customer_id)
    if isinstance(edit_post, Response):
        return edit_post
    user, data, cid = edit_post
    key = forms.parse_profile(data.get("profile", ""), user.config)
    if key is None:
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
    return redirect(request, f"{PATH}/customers/{cid}?saved=1")


def _confirm_page(
    request: Request,
    user: SignedIn,
    cid: int,
    *,
    title: str,
    action: str,
    fields: list[tuple[str, str]],
    result: ChangeResult | None = None,
    error: ApiError | None = None,
) -> Response:
    """A one-click change's preview (or why it was refused), with Save carrying the same form."""
    changes = None if result is None else [c.to_wire() for c in result.plan.changes]
    warnings = result.plan.warnings if result is not None else (error.warnings if error else [])
    problems = [] if error is None else error.errors
    return pages.page(
        "confirm.html",
        200 if error is None else error.status,
        cid=cid,
        title=title,
        action=action,
        fields=fields,
        changes=changes,
        warnings=warnings,
        general=[p for p in problems if p.entry is not errors.PRECONDITION_FAILED],
        conflict=any(p.entry is errors.PRECONDITION_FAILED for p in problems),
        **common(request, user),
    )


@router.post(f"{PATH}/customers/{{customer_id}}/consent")
async def change_consent(customer_id: str, request: Request) -> Response:
    """Preview or save an opt-in or opt-out of one channel and priority (editors only)."""
    edit_post = await _editor_post(request, customer_id)
    if isinstance(edit_post, Response):
        return edit_post
    user, data, cid = edit_post
    fields = [(k, data.get(k, "")) for k in ("version", "channel", "priority", "type")]
    dry_run = data.get("action") != "save"
    title, action = "Consent change", f"{PATH}/customers/{cid}/consent"
    write = console_consent.set_consent(
        request.app.state.db,
        user,
        cid,
        channel=data.get("channel", ""),
        priority=data.get("priority", ""),
        state=data.get("type", ""),
        version=customer_id_of(data.get("version", "")),
        request_id=request.state.request_id,
        dry_run=dry_run,
    )
    return await _preview_or_save(
        request, user, cid, write, title=title, action=action, fields=fields, dry_run=dry_run
    )


@router.post(f"{PATH}/customers/{{customer_id}}/identifier")
async def replace_identifier(customer_id: str, request: Request) -> Response:
    """Preview or save the replacement of a mobile or e-mail of one profile (editors only)."""
    edit_post = await _editor_post(request, customer_id)
    if isinstance(edit_post, Response):
        return edit_post
    user, data, cid = edit_post
    key = forms.parse_profile(data.get("profile", ""), user.config)
    if key is None:
        return _not_found(request, user, customer_id)
    id_type = data.get("type", "")
    if id_type not in identifiers.REPLACEABLE:
        return _not_found(request, user, customer_id)
    fields = [(k, data.get(k, "")) for k in ("version", "profile", "type", "old", "new")]
    dry_run = data.get("action") != "save"
    title, action = f"Replacing a {id_type}", f"{PATH}/customers/{cid}/identifier"
    write = identifiers.replace(
        request.app.state.db,
        user,
        cid,
        key,
        id_type=id_type,
        old=data.get("old", ""),
        new=data.get("new", ""),
        version=customer_id_of(data.get("version", "")),
        request_id=request.state.request_id,
        dry_run=dry_run,
    )
    return await _preview_or_save(
        request, user, cid, write, title=title, action=action, fields=fields, dry_run=dry_run
    )


async def _preview_or_save(
    request: Request,
    user: SignedIn,
    cid: int,
    write: Awaitable[ChangeResult],
    *,
    title: str,
    action: str,
    fields: list[tuple[str, str]],
    dry_run: bool,
) -> Response:
    """The tail of a one-click change: its preview (or refusal) page, or back to the customer."""
    try:
        result = await write
    except ApiError as exc:
        return _confirm_page(
            request, user, cid, title=title, action=action, fields=fields, error=exc
        )
    if dry_run:
        return _confirm_page(
            request, user, cid, title=title, action=action, fields=fields, result=result
        )
    return redirect(request, f"{PATH}/customers/{cid}?saved=1")
