"""One import line -> a checked request, with the API's own code. Pure: no I/O.

A line without a top-level `lookup` is the body of `POST /v2/customers`; with one, the rest is
the body of `PUT /v2/customers/lookup` and `lookup` holds that route's query parameters. The
body is read by the API's reader (`patron.api.body.parse_model`: NUL refusal, shape, field
paths), turned into the domain request (`to_request`) and resolved against the org's
configuration (`resolve`), so a line is refused exactly when, and with exactly the errors with
which, the API would refuse the same request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from patron import errors
from patron.api.body import parse_model
from patron.bulk.formats import Line, csv_body
from patron.customers.lookup import Lookup, parse_lookup
from patron.customers.requests import CustomerRequest
from patron.customers.resolve import Problems, Resolved, resolve
from patron.customers.schemas import CustomerRegisterIn, CustomerUpdateIn, to_request
from patron.errors import ApiError, Problem
from patron.orgs.model import OrgConfig

LOOKUP_KEY = "lookup"
_LOOKUP_KEYS = {"source", "accountId", "identifierName", "identifierValue"}


@dataclass(slots=True)
class Prepared:
    """A line whose body has the right shape, resolved; `lookup` is None for a registration."""

    number: int
    resolved: Resolved
    problems: Problems
    lookup: Lookup | None = None

    def pairs(self) -> list[tuple[str, str]]:
        """The (type, value) of every identifier the line adds."""
        return sorted({(i.type, i.value) for p in self.resolved.profiles for i in p.identifiers})


@dataclass(slots=True)
class Refused:
    """A line the API would refuse: its errors and warnings as the API answers them."""

    number: int
    error: ApiError


def _lookup(raw: Any, config: OrgConfig) -> Lookup:
    """The checked lookup of an update line (the query parameters of the PUT route)."""
    if not isinstance(raw, dict):
        raise ApiError.one(errors.WRONG_TYPE, "lookup must be an object", LOOKUP_KEY)
    problems = [
        Problem(errors.WRONG_TYPE, f"{LOOKUP_KEY}.{k} must be a string", f"{LOOKUP_KEY}.{k}")
        for k, v in raw.items()
        if k in _LOOKUP_KEYS and v is not None and not isinstance(v, str)
    ]
    if problems:
        raise ApiError(problems)
    lookup = parse_lookup(
        config,
        raw.get("source"),
        raw.get("accountId"),
        raw.get("identifierName"),
        raw.get("identifierValue"),
        allow_all=False,
    )
    if lookup.key is None:  # allow_all=False: a missing key was reported as an error already
        raise ApiError.one(errors.REQUIRED, "lookup.source is required", f"{LOOKUP_KEY}.source")
    return lookup


def _request(line: Line, config: OrgConfig) -> tuple[CustomerRequest, Lookup | None]:
    """The domain request of a line and its lookup (None: a registration); ApiError if refused."""
    if isinstance(line.raw, dict):
        return to_request(parse_model(CustomerRegisterIn, orjson.dumps(csv_body(line.raw)))), None
    raw = line.raw
    if b'"lookup"' not in raw:
        # The common case, a registration: the line's bytes go straight to the API's reader.
        return to_request(parse_model(CustomerRegisterIn, raw)), None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return to_request(parse_model(CustomerRegisterIn, raw)), None  # reports malformed JSON
    if not isinstance(data, dict) or LOOKUP_KEY not in data:
        return to_request(parse_model(CustomerRegisterIn, raw)), None
    problems: list[Problem] = []
    lookup = None
    try:
        lookup = _lookup(data.pop(LOOKUP_KEY), config)
    except ApiError as exc:
        problems += exc.errors
    try:
        body = parse_model(CustomerUpdateIn, orjson.dumps(data))
    except ApiError as exc:
        raise ApiError(problems + exc.errors) from None
    if problems or lookup is None:
        raise ApiError(problems)
    return to_request(body), lookup


def prepare(line: Line, config: OrgConfig, now: datetime) -> Prepared | Refused:
    """Read and resolve one line; a shape error or a lookup error refuses it at once."""
    try:
        request, lookup = _request(line, config)
    except ApiError as exc:
        return Refused(line.number, exc)
    resolved, problems = resolve(
        request, config, default_key=None if lookup is None else lookup.key, now=now
    )
    return Prepared(line.number, resolved, problems, lookup)


def input_of(line: Line) -> Any:
    """The line as a reject entry shows it: the JSONL text, or the CSV record's cells."""
    if isinstance(line.raw, dict):
        return line.raw
    return line.raw.decode("utf-8", errors="replace")


def reject_entry(line: Line, error: ApiError) -> bytes:
    """One line of the reject file: the line number, the input, and the API's answer."""
    entry = {
        "line": line.number,
        "input": input_of(line),
        "status": error.status,
        "errors": [p.to_wire() for p in error.errors],
        "warnings": [p.to_wire() for p in error.warnings],
    }
    return orjson.dumps(entry) + b"\n"
