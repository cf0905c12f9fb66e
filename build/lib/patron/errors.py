"""The error and warning catalogue: one entry per distinct cause, with its code and HTTP status.

Every error or warning patron reports is a `Problem` built from one of these entries, and
`docs/errors.md` is generated from this module (a test keeps them equal). Codes fixed by the
wire contract keep their numbers; patron's own codes live in 81xx-84xx.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """Whether an entry refuses a request or only warns about it."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Entry:
    """One cause: its code, the HTTP status it implies and a description for the docs."""

    code: int
    name: str
    status: int
    kind: Kind
    description: str


@dataclass(frozen=True, slots=True)
class Problem:
    """One reported error or warning: the catalogue entry, a sentence and the field at fault."""

    entry: Entry
    message: str
    field: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The `{"code", "message", "status", "field"?}` item of the wire contract."""
        item: dict[str, Any] = {"code": self.entry.code, "message": self.message, "status": False}
        if self.field is not None:
            item["field"] = self.field
        return item


_ENTRIES: list[Entry] = []


def _e(code: int, name: str, status: int, description: str) -> Entry:
    entry = Entry(code, name, status, Kind.ERROR, description)
    _ENTRIES.append(entry)
    return entry


def _w(code: int, name: str, description: str) -> Entry:
    entry = Entry(code, name, 200, Kind.WARNING, description)
    _ENTRIES.append(entry)
    return entry


# --- codes fixed by the wire contract -------------------------------------------------------
IDENTIFIER_TAKEN = _e(
    8008,
    "IDENTIFIER_TAKEN",
    409,
    "The identifier is held by another customer in the same source and account.",
)
INVALID_CHANNEL = _e(
    8010,
    "INVALID_CHANNEL",
    400,
    "Communication channel type unknown, or not allowed on this profile's source "
    "(mobilePush is only for MOBILE_APP, INSTORE, MARTJACK, ECOMMERCE and WEBSITE).",
)
UNKNOWN_ACCOUNT = _e(
    8011, "UNKNOWN_ACCOUNT", 400, "The accountId is not one of the source's configured accounts."
)
INVALID_SOURCE = _e(
    8012,
    "INVALID_SOURCE",
    400,
    "The source is missing, unknown, not enabled for the org, or ALL where it is not allowed.",
)
INVALID_IDENTIFIER = _e(
    8013,
    "INVALID_IDENTIFIER",
    400,
    "The identifier name is missing or not one of the identifier types, or the value is missing.",
)
CUSTOMER_NOT_FOUND = _e(
    8015,
    "CUSTOMER_NOT_FOUND",
    404,
    "No customer of this org has that identifier (or that id).",
)
ACCOUNT_REQUIRED = _e(
    8045, "ACCOUNT_REQUIRED", 400, "The source has accounts in this org, so accountId is required."
)
IDENTIFIER_TAKEN_OTHER_SOURCE = _e(
    8053,
    "IDENTIFIER_TAKEN_OTHER_SOURCE",
    409,
    "The identifier is held by another customer in another source of the org (no automatic merge).",
)
INVALID_EMAIL_IDENTIFIER = _e(
    8055, "INVALID_EMAIL_IDENTIFIER", 400, "An email identifier is not a valid address."
)
INVALID_MOBILE_IDENTIFIER = _e(
    8056, "INVALID_MOBILE_IDENTIFIER", 400, "A mobile identifier is not a valid phone number."
)
INVALID_EMAIL_CHANNEL = _e(
    8057, "INVALID_EMAIL_CHANNEL", 400, "An email channel is not a valid address."
)
INVALID_MOBILE_CHANNEL = _e(
    8058, "INVALID_MOBILE_CHANNEL", 400, "A mobile channel is not a valid phone number."
)
FOUND_IN_OTHER_SOURCE = _e(
    8065,
    "FOUND_IN_OTHER_SOURCE",
    404,
    "No customer has the identifier in the source/account asked for, but one has it in another source.",
)

# --- transport and shape ------------------------------------------------------------------
MALFORMED_JSON = _e(8100, "MALFORMED_JSON", 400, "The body is not valid JSON.")
WRONG_TYPE = _e(
    8101,
    "WRONG_TYPE",
    400,
    "A value has the wrong JSON type (the message says which was expected).",
)
REQUIRED = _e(8102, "REQUIRED", 400, "A required value is missing.")
TOO_LONG = _e(
    8103,
    "TOO_LONG",
    400,
    "A string is longer than its limit (1,024 characters unless a rule says less).",
)
TOO_MANY = _e(8104, "TOO_MANY", 400, "A list or object has more entries than the limits allow.")
OUT_OF_RANGE = _e(8105, "OUT_OF_RANGE", 400, "A number is outside its allowed range.")
INVALID_VALUE = _e(8106, "INVALID_VALUE", 400, "A value is not one of the allowed values.")
INVALID_QUERY = _e(8107, "INVALID_QUERY", 400, "A query parameter has a value that is not allowed.")
BODY_TOO_LARGE = _e(8108, "BODY_TOO_LARGE", 413, "The body is larger than 64 KiB.")
UNSUPPORTED_MEDIA_TYPE = _e(
    8109, "UNSUPPORTED_MEDIA_TYPE", 415, "The body is not sent as application/json."
)
UNAUTHORIZED = _e(
    8110, "UNAUTHORIZED", 401, "Missing or invalid credential (also an expired OAuth token)."
)
NOT_FOUND = _e(8111, "NOT_FOUND", 404, "No such route or resource.")
METHOD_NOT_ALLOWED = _e(
    8112, "METHOD_NOT_ALLOWED", 405, "The route exists but not with this HTTP method."
)
INTERNAL = _e(
    8113, "INTERNAL", 500, "An unexpected fault; it is logged with the request id. Always a bug."
)
INVALID_CHARACTER = _e(
    8115,
    "INVALID_CHARACTER",
    400,
    "A string or key holds a NUL character (U+0000), which patron does not store.",
)
UNAVAILABLE = _e(
    8114,
    "UNAVAILABLE",
    503,
    "The database is unreachable or busy; retry after the Retry-After delay.",
)

# --- update and registration rules (SPEC section 6) --------------------------------------
INVALID_LOYALTY_TYPE = _e(
    8120, "INVALID_LOYALTY_TYPE", 400, "loyaltyType is not `loyalty` or `non_loyalty`."
)
LOYALTY_DOWNGRADE = _e(
    8121, "LOYALTY_DOWNGRADE", 400, "A `loyalty` customer cannot be made `non_loyalty`."
)
LOYALTY_TYPE_CONFLICT = _e(
    8122,
    "LOYALTY_TYPE_CONFLICT",
    400,
    "loyaltyType and loyaltyInfo.loyaltyType are both given and differ.",
)
DUPLICATE_PROFILE = _e(
    8130,
    "DUPLICATE_PROFILE",
    400,
    "Two profile entries of one request name the same source/account.",
)
PROFILE_REQUIRED = _e(
    8131,
    "PROFILE_REQUIRED",
    400,
    "A registration needs at least one profile with at least one identifier.",
)
INVALID_IDENTIFIER_VALUE = _e(
    8132,
    "INVALID_IDENTIFIER_VALUE",
    400,
    "An identifier value (other than mobile or email) is empty or longer than 150 characters.",
)
INVALID_CHANNEL_VALUE = _e(
    8133,
    "INVALID_CHANNEL_VALUE",
    400,
    "A channel value (other than mobile or email) is empty or longer than 150 characters.",
)
DUPLICATE_CHANNEL = _e(
    8134,
    "DUPLICATE_CHANNEL",
    400,
    "One request names the same channel (type and value) twice in a profile.",
)
TWO_PRIMARIES = _e(
    8135, "TWO_PRIMARIES", 400, "One request makes two channels of one type primary in a profile."
)
INVALID_DATE = _e(
    8136, "INVALID_DATE", 400, "A date or date-time is not in the format the field requires."
)
LAST_VIEWED_CONFLICT = _e(
    8137,
    "LAST_VIEWED_CONFLICT",
    400,
    "lastViewedDate is given both on the channel and in its meta, with different values.",
)
UNKNOWN_EXTENDED_FIELD = _e(
    8140,
    "UNKNOWN_EXTENDED_FIELD",
    400,
    "An extended field is not one of the org's (strictFields is on).",
)
INVALID_FIELD_VALUE = _e(
    8141,
    "INVALID_FIELD_VALUE",
    400,
    "An extended or typed custom field's value does not fit its dataType.",
)
UNKNOWN_PROGRAM = _e(
    8150, "UNKNOWN_PROGRAM", 400, "programId is not one of the org's loyalty programs."
)
UNKNOWN_TIER = _e(8151, "UNKNOWN_TIER", 400, "tierNumber is not one of the program's tiers.")
ALREADY_ENROLLED = _e(
    8152, "ALREADY_ENROLLED", 409, "The customer is already enrolled in the program."
)
DUPLICATE_PROGRAM = _e(
    8153, "DUPLICATE_PROGRAM", 400, "One request enrols in the same program twice."
)
DATE_NOT_IN_FUTURE = _e(
    8154, "DATE_NOT_IN_FUTURE", 400, "tierExpiryDate or pointsExpiryDate is not in the future."
)

# --- admin: org configuration -------------------------------------------------------------
INVALID_ORG_CODE = _e(
    8160,
    "INVALID_ORG_CODE",
    400,
    "orgCode is not 1-64 characters of a-z, 0-9, '.', '_', '-' starting with a letter or digit.",
)
ORG_NOT_FOUND = _e(8161, "ORG_NOT_FOUND", 404, "No org has that code.")
CREDENTIAL_TAKEN = _e(
    8162,
    "CREDENTIAL_TAKEN",
    409,
    "A till code, OAuth key or console login (ignoring case) of the document is held by another org.",
)
INVALID_ORG_DOCUMENT = _e(
    8163,
    "INVALID_ORG_DOCUMENT",
    400,
    "The org document breaks a rule of its schema (the message says which).",
)
CONFIG_IN_USE = _e(
    8164,
    "CONFIG_IN_USE",
    409,
    "The document removes a program or tier that customers are enrolled in.",
)

# --- retries and conditional updates (SPEC rule 13) ---------------------------------------
IDEMPOTENCY_KEY_REUSED = _e(
    8170,
    "IDEMPOTENCY_KEY_REUSED",
    409,
    "The Idempotency-Key was already used (in the last 24 hours) for a different request: "
    "another method, path, query or body.",
)
INVALID_IDEMPOTENCY_KEY = _e(
    8171,
    "INVALID_IDEMPOTENCY_KEY",
    400,
    "The Idempotency-Key header is not 1-255 printable ASCII characters, or is sent twice.",
)
PRECONDITION_FAILED = _e(
    8172,
    "PRECONDITION_FAILED",
    412,
    "If-Match does not match the customer's current ETag (strong comparison; weak tags never "
    "match): the customer changed since it was read.",
)
INVALID_IF_MATCH = _e(
    8173,
    "INVALID_IF_MATCH",
    400,
    'The If-Match header is not `*` or a list of entity tags such as `"3"`.',
)

# --- security ----------------------------------------------------------------------------
AUTH_THROTTLED = _e(
    8180,
    "AUTH_THROTTLED",
    429,
    "Too many failed authentications from this till, OAuth key or client address: every "
    "attempt (even with a valid credential) is refused until the Retry-After delay has passed.",
)

# --- warnings ----------------------------------------------------------------------------
UNKNOWN_KEY = _w(8400, "UNKNOWN_KEY", "A key of the body is not known to patron; it was ignored.")
UNKNOWN_CUSTOM_FIELD = _w(
    8401, "UNKNOWN_CUSTOM_FIELD", "A custom field is not one of the org's; it was dropped."
)
FIELD_DROPPED = _w(
    8402,
    "FIELD_DROPPED",
    "An unknown or ill-typed extended field, or an ill-typed custom field, was dropped "
    "(strictFields is off).",
)
LAST_VIEWED_DROPPED = _w(
    8403,
    "LAST_VIEWED_DROPPED",
    "lastViewedDate applies to mobilePush channels only; it was dropped.",
)
NO_PROFILE_IN_SOURCE = _w(
    8404, "NO_PROFILE_IN_SOURCE", "The customer has no profile in the source/account asked for."
)
POINTS_EXPIRY_WITHOUT_POINTS = _w(
    8405,
    "POINTS_EXPIRY_WITHOUT_POINTS",
    "pointsExpiryDate was given without loyaltyPoints to credit; it was ignored.",
)
NO_DEFAULT_PROGRAM = _w(
    8406,
    "NO_DEFAULT_PROGRAM",
    "The customer became `loyalty` but the org has no default program to enrol them in.",
)

# --- the member-care console (docs/console.md) -------------------------------------------
CONSOLE_FORBIDDEN = _e(
    8190,
    "CONSOLE_FORBIDDEN",
    403,
    "A console user whose role is viewer asked for an editor's action (a change to a customer).",
)
CONSOLE_CSRF = _e(
    8191,
    "CONSOLE_CSRF",
    403,
    "A console form was sent without the anti-forgery token of the signed-in session, or with "
    "another session's; nothing was done.",
)

AMBIGUOUS_LOOKUP = _w(
    8407,
    "AMBIGUOUS_LOOKUP",
    "With source=ALL, several customers hold the identifier in different sources; the lowest id is answered.",
)

CATALOGUE: tuple[Entry, ...] = tuple(sorted(_ENTRIES, key=lambda e: e.code))


class ApiError(Exception):
    """A refused request: every error found, the warnings gathered so far, one HTTP status."""

    def __init__(self, errors: list[Problem], warnings: list[Problem] | None = None) -> None:
        if not errors:
            raise ValueError("an ApiError needs at least one error")
        super().__init__("; ".join(p.message for p in errors))
        self.errors = errors
        self.warnings = warnings or []

    @property
    def status(self) -> int:
        """Validation (400) outranks conflicts (409) and not-found (404): the lowest status wins."""
        return min(p.entry.status for p in self.errors)

    @classmethod
    def one(cls, entry: Entry, message: str, field: str | None = None) -> ApiError:
        """A refusal with a single problem."""
        return cls([Problem(entry, message, field)])


def catalogue_markdown() -> str:
    """The error catalogue as the Markdown table of `docs/errors.md`."""
    lines = [
        "# Error and warning codes",
        "",
        "Generated from `src/patron/errors.py` by `make docs`; a test fails when they differ.",
        "",
        'Every error response is `{"errors": [...], "warnings": [...]}`; every item is',
        '`{"code", "message", "status": false}` plus `"field"` (the path in the request) when one',
        "field is at fault. When one request has errors of several statuses, the response takes the",
        "lowest (a 400 outranks a 404 or a 409). Warnings ride along on successful answers too.",
        "",
        "| code | name | HTTP | kind | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for e in CATALOGUE:
        status = "-" if e.kind is Kind.WARNING else str(e.status)
        lines.append(f"| {e.code} | `{e.name}` | {status} | {e.kind.value} | {e.description} |")
    return "\n".join(lines) + "\n"
