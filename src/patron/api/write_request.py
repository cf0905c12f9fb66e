"""Reading a write request: its flags, what it targets, its headers and its body, all at once.

A write route calls `read_write` once and gets the parts, or one ApiError with every problem of
the request in the order a client reads them: the query flags (`dryRun`, `use_async`), the
route's own target (a lookup or a profile), `Idempotency-Key`, `If-Match`, then the body (size,
media type, JSON syntax and shape). With an `Idempotency-Key` the raw body is fingerprinted
together with the method, path and query (SPEC rule 13).

What the reader reads by hand is declared here for the OpenAPI document (`write_extra`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from patron import errors
from patron.api.body import read_raw
from patron.api.openapi import ErrorBody, json_body
from patron.api.query import QueryParam
from patron.conditions import IDEMPOTENCY_HEADER, IdempotencyKey, IfMatch, fingerprint
from patron.errors import ApiError, Problems
from patron.wire import parse_model

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

MAX_KEY_LENGTH = 255

# true or false in any case, as `_flag` reads them.
_BOOLEAN = {"pattern": "^(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"}
DRY_RUN = QueryParam("dryRun", "true: validate and plan, store nothing.", schema=_BOOLEAN)
USE_ASYNC = QueryParam("use_async", "Accepted; the answer is the same.", schema=_BOOLEAN)
WRITE_FLAGS = (DRY_RUN, USE_ASYNC)

# `*`, or a list (RFC 9110 8.8.3) naming at least one entity tag, as `_if_match` reads it.
_TAG = r'(?:W/)?"[!#-~\x80-\xff]*"'
_IF_MATCH_LIST = rf"^[ \t]*(?:\*|(?:,[ \t]*)*{_TAG}(?:[ \t]*,[ \t]*(?:{_TAG})?)*)[ \t]*$"

# The headers of SPEC rule 13, read from the request by hand (a repeated header must be seen),
# so declared for the OpenAPI document here.
_IDEMPOTENCY_KEY_PARAM: dict[str, Any] = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "1-255 printable ASCII characters. Makes a retry safe: the same key with the "
    "same request replays the first response (with `Idempotent-Replayed: true`) for 24 hours; "
    "with another request it is a 409.",
    # Printable ASCII; the edges are not blanks, which HTTP strips from a header's value.
    "schema": {"type": "string", "pattern": "^[!-~](?:[ -~]{0,253}[!-~])?$"},
}
_IF_MATCH_PARAM: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'Update only if the customer\'s ETag is one of these (`"3"`, a list, or `*`); '
    "otherwise 412.",
    "schema": {"type": "string", "pattern": _IF_MATCH_LIST},
}
PRECONDITION_FAILED: dict[int | str, dict[str, Any]] = {
    412: {"model": ErrorBody, "description": "If-Match does not match the customer's ETag"}
}


def write_extra(model: type[BaseModel], *params: QueryParam, conditional: bool) -> dict[str, Any]:
    """`openapi_extra` of a write route: its query parameters, JSON body and the headers it reads."""
    extra = json_body(model)
    extra["parameters"] = [
        *(p.openapi() for p in params),
        _IDEMPOTENCY_KEY_PARAM,
        *([_IF_MATCH_PARAM] if conditional else []),
    ]
    return extra


@dataclass(frozen=True, slots=True)
class Write(Generic[M, T]):
    """The parts of a write request that has no problem."""

    body: M
    target: T
    dry_run: bool
    retry: IdempotencyKey | None
    if_match: IfMatch | None


def no_target(problems: Problems) -> None:
    """The target of a write that names none (a registration)."""
    return None


async def read_write(
    request: Request,
    model: type[M],
    *,
    target: Callable[[Problems], T],
    conditional: bool,
) -> Write[M, T]:
    """Every part of a write request; one ApiError with every problem found otherwise.

    `target` reads what the route's query names, adding its problems to those given.
    """
    problems = Problems()
    dry_run = _dry_run(request, problems)
    named = target(problems)
    key = _idempotency_key(request, problems)
    if_match = _if_match(request, problems) if conditional else None
    try:
        raw = await read_raw(request)
        body = parse_model(model, raw)
    except ApiError as exc:
        raise ApiError(problems.errors + exc.errors) from None
    if problems.errors:
        raise ApiError(problems.errors)
    retry = None
    if key is not None:
        url = request.url
        retry = IdempotencyKey(key, fingerprint(request.method, url.path, url.query, raw))
    return Write(body, named, dry_run, retry, if_match)


def _dry_run(request: Request, problems: Problems) -> bool:
    """The request's dryRun flag (use_async is checked, then ignored).

    The first malformed flag is reported and the request is not a dry run.
    """
    try:
        dry_run = _flag(DRY_RUN.read(request), DRY_RUN.name)
        _flag(USE_ASYNC.read(request), USE_ASYNC.name)
    except ApiError as exc:
        problems.errors += exc.errors
        return False
    return dry_run


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ApiError.one(errors.INVALID_QUERY, f"{name} must be true or false", name)
    return lowered == "true"


def _idempotency_key(request: Request, problems: Problems) -> str | None:
    """The Idempotency-Key header's value (None without one); a malformed one joins `problems`."""
    values = request.headers.getlist(IDEMPOTENCY_HEADER)
    if not values:
        return None
    if len(values) > 1:
        problems.error(
            errors.INVALID_IDEMPOTENCY_KEY,
            f"send one {IDEMPOTENCY_HEADER} header, not {len(values)}",
            IDEMPOTENCY_HEADER,
        )
        return None
    key = values[0]
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        problems.error(
            errors.INVALID_IDEMPOTENCY_KEY,
            f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_KEY_LENGTH} characters, not {len(key)}",
            IDEMPOTENCY_HEADER,
        )
        return None
    if not all(" " <= ch <= "~" for ch in key):
        problems.error(
            errors.INVALID_IDEMPOTENCY_KEY,
            f"{IDEMPOTENCY_HEADER} must be printable ASCII characters",
            IDEMPOTENCY_HEADER,
        )
        return None
    return key


# One element of an If-Match list (RFC 9110 8.8.3): an optionally weak quoted tag, or nothing
# (empty list elements are allowed), up to the next comma. An opaque tag may itself hold commas,
# so the list is scanned tag by tag rather than split.
_IF_MATCH_ELEMENT = re.compile(r'[ \t]*(?:(W/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|\Z)')


def _if_match(request: Request, problems: Problems) -> IfMatch | None:
    """The If-Match precondition (None without the header); a malformed one joins `problems`."""
    values = request.headers.getlist("if-match")
    if not values:
        return None
    raw = ",".join(values).strip()  # repeated header lines form one list
    if raw == "*":
        return IfMatch(frozenset(), any_version=True)
    strong: set[str] = set()
    listed = 0
    pos = 0
    while pos < len(raw):
        m = _IF_MATCH_ELEMENT.match(raw, pos)
        if m is None:
            listed = 0
            break
        if m.group(2) is not None:
            listed += 1
            if not m.group(1):  # weak tags are left out: strong comparison never matches them
                strong.add(m.group(2))
        pos = m.end()
    if listed == 0:
        # Garbage, or a list without a single tag, which no customer could ever match: a
        # client bug better named than answered with a 412.
        problems.error(
            errors.INVALID_IF_MATCH,
            'If-Match must be * or a list of entity tags such as "3"',
            "If-Match",
        )
        return None
    return IfMatch(frozenset(strong))
