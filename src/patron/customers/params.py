"""What the customer routes read from a request's path and query, each problem with its code.

Every parameter here is read by hand (`patron.api.query`) and declared for the OpenAPI document
by the routes. A write route's target is read inside the write request reader
(`patron.api.write_request.read_write`), so its problems join the request's others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from patron import errors
from patron.api.query import QueryParam
from patron.customers.embed import DESCRIPTION as EMBED_DESCRIPTION
from patron.customers.lookup import Lookup, parse_lookup, profile_selector
from patron.customers.model import ProfileKey
from patron.customers.schemas import EXAMPLE_MOBILE
from patron.customers.store import Target
from patron.errors import ApiError, Problems
from patron.orgs.model import IDENTIFIER_TYPES, SOURCES, OrgConfig

MAX_ID = 2**63 - 1

# What the document can say of a value is the same for every org: the names of sources and
# identifier types. Whether the org enables that source, has that account, or the value is a
# valid mobile number is checked by the route (400 with the catalogue code).
SOURCE = QueryParam(
    "source",
    "A source the org enables, case-insensitive; ALL reads every profile.",
    schema={"enum": [*SOURCES, "ALL"]},
    example="INSTORE",
)
WRITE_SOURCE = QueryParam(
    "source",
    "A source the org enables, case-insensitive: the profile the update defaults to.",
    required=True,
    schema={"enum": list(SOURCES)},
    example="INSTORE",
)
ACCOUNT_ID = QueryParam("accountId", "Required when the source has accounts.")
IDENTIFIER_NAME = QueryParam(
    "identifierName",
    "An identifier type, e.g. mobile.",
    required=True,
    schema={"enum": list(IDENTIFIER_TYPES)},
    example="mobile",
)
IDENTIFIER_VALUE = QueryParam(
    "identifierValue",
    "Normalised like stored values.",
    required=True,
    schema={"pattern": r"^[^\u0000]*\S[^\u0000]*$"},
    example=EXAMPLE_MOBILE,
)
EMBED = QueryParam("embed", EMBED_DESCRIPTION)
LOOKUP = (SOURCE.needed(), ACCOUNT_ID, IDENTIFIER_NAME, IDENTIFIER_VALUE)
"""The lookup of the read routes (SPEC 5.1): `source=ALL` searches every source."""
WRITE_LOOKUP = (WRITE_SOURCE, ACCOUNT_ID, IDENTIFIER_NAME, IDENTIFIER_VALUE)
"""The lookup of an update, which names one profile."""


def read_extra(*params: QueryParam) -> dict[str, Any]:
    """`openapi_extra` of a read route: the query parameters it reads by hand."""
    return {"parameters": [p.openapi() for p in params]}


def customer_id(raw: str) -> int:
    """The id in the path; anything that cannot be an id is the same 404 as an unknown id."""
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        raise ApiError.one(errors.CUSTOMER_NOT_FOUND, "customer not found")
    return int(raw)


def lookup(request: Request, config: OrgConfig, *, allow_all: bool) -> Lookup:
    """The lookup the request's query names (ApiError when it names none properly)."""
    source, account, name, value = (p.read(request) for p in LOOKUP)
    return parse_lookup(config, source, account, name, value, allow_all=allow_all)


def selected_profile(request: Request, config: OrgConfig) -> ProfileKey | None:
    """The profile `source`/`accountId` select for reading; None for every profile."""
    source = SOURCE.read(request)
    if source is None:
        return None
    problems = Problems()
    key = profile_selector(
        config, source, ACCOUNT_ID.read(request), allow_all=True, problems=problems
    )
    if problems.errors:
        raise ApiError(problems.errors)
    return key


def lookup_target(request: Request, config: OrgConfig) -> Callable[[Problems], Target | None]:
    """The target of an update by lookup, read with the request's other problems."""

    def target(problems: Problems) -> Target | None:
        try:
            found = lookup(request, config, allow_all=False)
        except ApiError as exc:
            problems.errors += exc.errors
            return None
        return None if found.key is None else Target(default_key=found.key, lookup=found)

    return target


def id_target(request: Request, config: OrgConfig, cid: int) -> Callable[[Problems], Target | None]:
    """The target of an update by id (`source` names its default profile), read likewise."""

    def target(problems: Problems) -> Target | None:
        selected = Problems()  # only its errors count: an update names one profile
        source, account = SOURCE.read(request), ACCOUNT_ID.read(request)
        key = profile_selector(config, source, account, allow_all=False, problems=selected)
        problems.errors += selected.errors
        return None if key is None else Target(default_key=key, customer_id=cid)

    return target


def history_cursor(cursor: str | None) -> int | None:
    """The version a history page starts before (`nextCursor` of the previous page)."""
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or not 0 < int(cursor) < 2**31:
        raise ApiError.one(errors.INVALID_QUERY, "cursor is not a cursor this API gave", "cursor")
    return int(cursor)
