"""One import line -> a checked request, with the API's own code. Pure: no I/O.

A line without a top-level `lookup` is the body of `POST /v2/customers`; with one, the rest is
the body of `PUT /v2/customers/lookup` and `lookup` holds that route's query parameters. The
body is read by the API's reader (`patron.wire.parse_model`: NUL refusal, shape, field
paths), turned into the domain request (`to_request`) and resolved against the org's
configuration (`resolve`), so a line is refused exactly when, and with exactly the errors with
which, the API would refuse the same request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from patron import errors
from patron.bulk.consent_line import CONSENT_KEY, read_consent
from patron.bulk.formats import Line, csv_body
from patron.bulk.ledger import LEDGER_KEY, read_ledger
from patron.customers.consent import ResolvedConsent
from patron.customers.lookup import Lookup, parse_lookup
from patron.customers.planner import Credit
from patron.customers.requests import CustomerRequest
from patron.customers.resolve import Resolved, resolve
from patron.customers.schemas import CustomerRegisterIn, CustomerUpdateIn, to_request
from patron.errors import ApiError, Problem, Problems
from patron.orgs.model import OrgConfig
from patron.wire import parse_model

LOOKUP_KEY = "lookup"
_LOOKUP_KEYS = {"source", "accountId", "identifierName", "identifierValue"}


@dataclass(slots=True)
class Prepared:
    """A line whose body has the right shape, resolved; `lookup` is None for a registration."""

    number: int
    resolved: Resolved
    problems: Problems
    lookup: Lookup | None = None
    credits: list[Credit] = field(default_factory=list)
    """The credits of the line's `pointsLedger` (a registration's only)."""
    consent: ResolvedConsent | None = None
    """The consent states of the line's `subscriptions` (a registration's only)."""

    _pairs: list[tuple[str, str]] | None = field(default=None, init=False, repr=False)

    def pairs(self) -> list[tuple[str, str]]:
        """The (type, value) of every identifier the line adds, sorted (not to be changed: a
        batch asks twice, once for its holders and once to plan the line)."""
        if self._pairs is None:
            self._pairs = sorted(
                {(i.type, i.value) for p in self.resolved.profiles for i in p.identifiers}
            )
        return self._pairs


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


@dataclass(slots=True)
class _Read:
    """A line read: its request, its lookup (None: a registration) and what an export line
    carries beyond a registration body."""

    request: CustomerRequest
    lookup: Lookup | None = None
    credits: list[Credit] = field(default_factory=list)
    consent: tuple[ResolvedConsent, Problems] | None = None


_EXTRA_KEYS = (LEDGER_KEY, CONSENT_KEY)
"""Top-level keys of an export line that are not part of the registration body."""

_SLOW_PATH_MARKS = tuple(f'"{k}"'.encode() for k in (LOOKUP_KEY, *_EXTRA_KEYS))
"""A line holding none of these is a plain registration, read without parsing it twice."""


def _registration(body: bytes) -> _Read:
    return _Read(to_request(parse_model(CustomerRegisterIn, body)))


def _request(line: Line, config: OrgConfig) -> _Read:
    """The line read, with the API's readers; ApiError if refused."""
    if isinstance(line.raw, dict):
        return _registration(orjson.dumps(csv_body(line.raw)))
    raw = line.raw
    if not any(mark in raw for mark in _SLOW_PATH_MARKS):
        # The common case, a registration: the line's bytes go straight to the API's reader.
        return _registration(raw)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _registration(raw)  # reports malformed JSON
    if not isinstance(data, dict):
        return _registration(raw)
    extras = {k: data.pop(k) for k in _EXTRA_KEYS if k in data}
    if LOOKUP_KEY not in data:
        if not extras:
            return _registration(raw)
        return _export_line(data, extras, config)
    problems = [
        Problem(
            errors.INVALID_VALUE,
            f"{key} is read on a registration line only, not with {LOOKUP_KEY}",
            key,
        )
        for key in extras
    ]
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
    return _Read(to_request(body), lookup)


def _export_line(data: dict[str, Any], extras: dict[str, Any], config: OrgConfig) -> _Read:
    """A registration with a points ledger and/or consent states (an export line)."""
    read = Problems()
    credits = read_ledger(extras[LEDGER_KEY], read) if LEDGER_KEY in extras else []
    try:
        found = _registration(orjson.dumps(data))
    except ApiError as exc:
        raise ApiError(read.errors + exc.errors, read.warnings + exc.warnings) from None
    if read.errors:
        raise ApiError(read.errors, read.warnings)
    found.credits = credits
    if CONSENT_KEY in extras:
        found.consent = read_consent(extras[CONSENT_KEY], config)
    return found


def prepare(line: Line, config: OrgConfig, now: datetime) -> Prepared | Refused:
    """Read and resolve one line; a shape error or a lookup error refuses it at once."""
    try:
        read = _request(line, config)
    except ApiError as exc:
        return Refused(line.number, exc)
    lookup = read.lookup
    resolved, problems = resolve(
        read.request, config, default_key=None if lookup is None else lookup.key, now=now
    )
    consent = None
    if read.consent is not None:
        consent, consent_problems = read.consent
        problems.errors += consent_problems.errors
        problems.warnings += consent_problems.warnings
    return Prepared(line.number, resolved, problems, lookup, read.credits, consent)


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
