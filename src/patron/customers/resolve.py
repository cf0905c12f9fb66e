"""Validating a request against the org's configuration: the shared validators of SPEC 5 and 6.

`resolve` turns a `CustomerRequest` into a `Resolved` request (sources and accounts checked,
identifier and channel values normalised, fields typed, enrolments checked) plus every problem
found. It does not look at the stored customer: that is the planner's job. Registration and
update both come through here, so each rule has one implementation. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from dataclasses import field as default
from datetime import date, datetime
from typing import Any

from patron import errors
from patron.customers.fields import FieldTypeError, coerce
from patron.customers.model import ProfileKey
from patron.customers.normalise import InvalidValue, channel_value, identifier_value
from patron.customers.requests import UNSET, ChannelReq, CustomerRequest, ProfileReq, Unset
from patron.errors import Entry, Problem
from patron.orgs.model import (
    CHANNEL_TYPES,
    IDENTIFIER_TYPES,
    LOYALTY_TYPES,
    MOBILE_PUSH_SOURCES,
    SOURCES,
    FieldDef,
    OrgConfig,
)

MAX_NAME = 100
MAX_STRING = 1024
_INT64 = 2**63
LAST_VIEWED = "lastViewedDate"
_SOURCES_BY_UPPER = {s.upper(): s for s in SOURCES}
_EXPIRY = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")


@dataclass(slots=True)
class Problems:
    """Errors and warnings gathered while checking one request."""

    errors: list[Problem] = default(default_factory=list)
    warnings: list[Problem] = default(default_factory=list)

    def error(self, entry: Entry, message: str, path: str | None = None) -> None:
        """Record an error."""
        self.errors.append(Problem(entry, message, path or None))

    def warn(self, entry: Entry, message: str, path: str | None = None) -> None:
        """Record a warning."""
        self.warnings.append(Problem(entry, message, path or None))


@dataclass(frozen=True, slots=True)
class RIdentifier:
    """A normalised identifier to add."""

    type: str
    value: str
    field: str


@dataclass(slots=True)
class RChannel:
    """A normalised channel to add or change; None means "not given"."""

    type: str
    value: str
    primary: bool | None
    verified: bool | None
    meta: dict[str, Any] | None
    field: str


@dataclass(slots=True)
class RProfile:
    """Changes to one profile, with its (source, account) settled."""

    key: ProfileKey
    field: str
    first_name: str | Unset | None = UNSET
    last_name: str | Unset | None = UNSET
    identifiers: list[RIdentifier] = default(default_factory=list)
    channels: list[RChannel] = default(default_factory=list)
    fields: dict[str, Any] = default(default_factory=dict)
    """Typed custom field values; None removes one."""


@dataclass(frozen=True, slots=True)
class REnrolment:
    """A checked enrolment."""

    program_id: int
    tier_number: int
    points: int | None
    tier_expiry_date: str | None
    points_expires_at: datetime | None
    field: str


@dataclass(slots=True)
class Resolved:
    """A request checked against the org configuration."""

    loyalty_type: str | None = None
    loyalty_type_field: str = "loyaltyType"
    profiles: list[RProfile] = default(default_factory=list)
    extended_fields: dict[str, Any] = default(default_factory=dict)
    enrolments: list[REnrolment] = default(default_factory=list)


# --- sources and accounts (SPEC 5.1, rule 2) ------------------------------------------------


def resolve_source(
    raw: str | None, config: OrgConfig, problems: Problems, path: str, *, allow_all: bool = False
) -> str | None:
    """The canonical source name, or None after recording 8012."""
    if raw is None or not raw.strip():
        problems.error(errors.INVALID_SOURCE, "source is required", path)
        return None
    upper = raw.strip().upper()
    if allow_all and upper == "ALL":
        return "ALL"
    source = _SOURCES_BY_UPPER.get(upper)
    if source is None:
        problems.error(errors.INVALID_SOURCE, f"{raw!r} is not a source", path)
        return None
    if source not in config.sources:
        problems.error(errors.INVALID_SOURCE, f"source {source} is not enabled for this org", path)
        return None
    return source


def resolve_account(
    source: str, raw: str | None, config: OrgConfig, problems: Problems, path: str
) -> str | None:
    """The account ("" for sources without accounts), or None after recording 8045/8011."""
    accounts = config.sources.get(source, ())
    given = raw.strip() if raw is not None else ""
    if not given:
        if accounts:
            problems.error(
                errors.ACCOUNT_REQUIRED, f"accountId is required for source {source}", path
            )
            return None
        return ""
    if given not in accounts:
        problems.error(
            errors.UNKNOWN_ACCOUNT, f"{given!r} is not an account of source {source}", path
        )
        return None
    return given


def resolve_profile_key(
    source: str | None, account_id: str | None, config: OrgConfig, problems: Problems, path: str
) -> ProfileKey | None:
    """A (source, account) pair checked by the rules of SPEC 5.1."""
    prefix = f"{path}." if path else ""
    resolved = resolve_source(source, config, problems, f"{prefix}source")
    if resolved is None:
        return None
    account = resolve_account(resolved, account_id, config, problems, f"{prefix}accountId")
    return None if account is None else (resolved, account)


# --- the request --------------------------------------------------------------------------


def resolve(
    request: CustomerRequest, config: OrgConfig, *, default_key: ProfileKey | None, now: datetime
) -> tuple[Resolved, Problems]:
    """Check and normalise a request. `default_key` is the lookup's profile (None: registration)."""
    problems = Problems()
    out = Resolved()
    for path in request.unknown_keys:
        problems.warn(errors.UNKNOWN_KEY, f"{path} is not a key patron knows; it was ignored", path)
    _loyalty_type(request, out, problems)

    by_key: dict[ProfileKey, RProfile] = {}
    first_key: ProfileKey | None = None
    for entry in request.profiles:
        key = _entry_key(entry, config, default_key, problems)
        if key is None:
            continue
        first_key = first_key or key
        if key in by_key:
            problems.error(
                errors.DUPLICATE_PROFILE,
                f"{entry.field} names the same profile as an earlier entry",
                entry.field,
            )
            continue
        profile = RProfile(key=key, field=entry.field)
        by_key[key] = profile
        _fill_profile(profile, entry, config, problems)
    if request.top is not None:
        key = default_key or first_key
        if key is None:
            if default_key is None and not request.profiles:
                problems.error(
                    errors.PROFILE_REQUIRED,
                    "commChannels and fields need a profile to belong to",
                    "profiles",
                )
        else:
            profile = by_key.setdefault(key, RProfile(key=key, field=""))
            _fill_profile(profile, request.top, config, problems)
    if default_key is None and not any(p.identifiers for p in request.profiles):
        problems.error(
            errors.PROFILE_REQUIRED,
            "a registration needs at least one profile with at least one identifier",
            "profiles",
        )
    out.profiles = list(by_key.values())
    _check_channel_set(out.profiles, problems)

    if request.extended_fields is not None:
        out.extended_fields = _typed_fields(
            request.extended_fields,
            config.extended_fields,
            "extendedFields",
            config,
            problems,
            extended=True,
        )
    _enrolments(request, config, out, problems, now)
    return out, problems


def _loyalty_type(request: CustomerRequest, out: Resolved, problems: Problems) -> None:
    a, b = request.loyalty_type, request.loyalty_info_type
    if a is not None and b is not None and a != b:
        problems.error(
            errors.LOYALTY_TYPE_CONFLICT,
            "loyaltyType and loyaltyInfo.loyaltyType differ",
            "loyaltyType",
        )
        return
    value = a if a is not None else b
    path = "loyaltyType" if a is not None else "loyaltyInfo.loyaltyType"
    if value is None:
        return
    if value not in LOYALTY_TYPES:
        problems.error(
            errors.INVALID_LOYALTY_TYPE,
            f"loyaltyType must be loyalty or non_loyalty, not {value!r}",
            path,
        )
        return
    out.loyalty_type, out.loyalty_type_field = value, path


def _entry_key(
    entry: ProfileReq, config: OrgConfig, default_key: ProfileKey | None, problems: Problems
) -> ProfileKey | None:
    source = entry.source
    account = entry.account_id
    if default_key is not None:
        if source is None:
            source = default_key[0]
            account = account if account is not None else default_key[1]
        elif account is None and source.strip().upper() == default_key[0]:
            account = default_key[1]
    return resolve_profile_key(source, account, config, problems, entry.field)


def _name(value: str | Unset | None, path: str, problems: Problems) -> str | Unset | None:
    if value is UNSET or value is None:
        return value
    trimmed = value.strip()
    if len(trimmed) > MAX_NAME:
        problems.error(errors.TOO_LONG, f"{path} is longer than {MAX_NAME} characters", path)
        return UNSET
    return trimmed


def _fill_profile(
    profile: RProfile, entry: ProfileReq, config: OrgConfig, problems: Problems
) -> None:
    prefix = f"{entry.field}." if entry.field else ""
    if entry.first_name is not UNSET:
        profile.first_name = _name(entry.first_name, f"{prefix}firstName", problems)
    if entry.last_name is not UNSET:
        profile.last_name = _name(entry.last_name, f"{prefix}lastName", problems)
    seen = {(i.type, i.value) for i in profile.identifiers}
    for ident in entry.identifiers:
        if ident.type not in IDENTIFIER_TYPES:
            problems.error(
                errors.INVALID_IDENTIFIER,
                f"{ident.type!r} is not an identifier type",
                f"{ident.field}.type",
            )
            continue
        try:
            value = identifier_value(ident.type, ident.value, config.default_country)
        except InvalidValue as exc:
            problems.error(exc.entry, exc.message, f"{ident.field}.value")
            continue
        if (ident.type, value) not in seen:  # the same identifier twice adds it once
            seen.add((ident.type, value))
            profile.identifiers.append(RIdentifier(ident.type, value, ident.field))
    for channel in entry.channels:
        resolved = _channel(channel, profile.key[0], config, problems)
        if resolved is not None:
            profile.channels.append(resolved)
    if entry.fields is not None:
        profile.fields.update(
            _typed_fields(
                entry.fields,
                config.custom_fields,
                f"{prefix}fields",
                config,
                problems,
                extended=False,
            )
        )


def _channel(
    channel: ChannelReq, source: str, config: OrgConfig, problems: Problems
) -> RChannel | None:
    if channel.type not in CHANNEL_TYPES:
        problems.error(
            errors.INVALID_CHANNEL,
            f"{channel.type!r} is not a channel type",
            f"{channel.field}.type",
        )
        return None
    if channel.type == "mobilePush" and source not in MOBILE_PUSH_SOURCES:
        problems.error(
            errors.INVALID_CHANNEL,
            f"mobilePush channels are only for {', '.join(sorted(MOBILE_PUSH_SOURCES))} profiles, "
            f"not {source}",
            f"{channel.field}.type",
        )
        return None
    try:
        value = channel_value(channel.type, channel.value, config.default_country)
    except InvalidValue as exc:
        problems.error(exc.entry, exc.message, f"{channel.field}.value")
        return None
    meta = dict(channel.meta) if channel.meta is not None else None
    if meta is not None:
        _check_json(meta, f"{channel.field}.meta", problems)
    viewed = _last_viewed(channel, meta, problems)
    if viewed is not None:
        if channel.type == "mobilePush":
            meta = meta if meta is not None else {}
            meta[LAST_VIEWED] = viewed
        else:
            if meta is not None:
                meta.pop(LAST_VIEWED, None)
            problems.warn(
                errors.LAST_VIEWED_DROPPED,
                f"lastViewedDate applies to mobilePush channels only, not {channel.type}; "
                "it was dropped",
                f"{channel.field}.lastViewedDate",
            )
    return RChannel(channel.type, value, channel.primary, channel.verified, meta, channel.field)


def _last_viewed(
    channel: ChannelReq, meta: dict[str, Any] | None, problems: Problems
) -> str | None:
    top = channel.last_viewed_date
    inner = meta.get(LAST_VIEWED) if meta is not None else None
    if top is not None and inner is not None and top != inner:
        problems.error(
            errors.LAST_VIEWED_CONFLICT,
            "lastViewedDate differs between the channel and its meta",
            f"{channel.field}.lastViewedDate",
        )
        return None
    value = top if top is not None else inner
    path = (
        f"{channel.field}.lastViewedDate"
        if top is not None
        else f"{channel.field}.meta.lastViewedDate"
    )
    if value is None:
        return None
    if not isinstance(value, str) or not _is_date_or_datetime(value):
        problems.error(
            errors.INVALID_DATE, "lastViewedDate must be a date or an ISO 8601 date-time", path
        )
        return None
    return value


def _is_date_or_datetime(text: str) -> bool:
    try:
        if len(text) == 10:
            date.fromisoformat(text)
        else:
            datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _check_channel_set(profiles: list[RProfile], problems: Problems) -> None:
    """Rule 5: one channel mentioned once per profile; at most one primary of a type per request."""
    for profile in profiles:
        seen: set[tuple[str, str]] = set()
        primaries: set[str] = set()
        for ch in profile.channels:
            if (ch.type, ch.value) in seen:
                problems.error(
                    errors.DUPLICATE_CHANNEL,
                    f"the {ch.type} channel {ch.value} is given twice",
                    f"{ch.field}.value",
                )
            seen.add((ch.type, ch.value))
            if ch.primary:
                if ch.type in primaries:
                    problems.error(
                        errors.TWO_PRIMARIES,
                        f"two {ch.type} channels are made primary in one request",
                        f"{ch.field}.primary",
                    )
                primaries.add(ch.type)


def _typed_fields(
    values: dict[str, Any],
    defs: dict[str, FieldDef],
    path: str,
    config: OrgConfig,
    problems: Problems,
    *,
    extended: bool,
) -> dict[str, Any]:
    """Rules 6 and 7: known keys typed, unknown ones dropped (custom) or refused (strict extended)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        here = f"{path}.{name}"
        if len(name) > MAX_STRING:
            problems.error(
                errors.TOO_LONG, f"a key of {path} is longer than {MAX_STRING} characters", path
            )
            continue
        defn = defs.get(name)
        if defn is None:
            if not extended:
                problems.warn(
                    errors.UNKNOWN_CUSTOM_FIELD,
                    f"{name!r} is not a custom field of this org; it was dropped",
                    here,
                )
            elif config.strict_fields:
                problems.error(
                    errors.UNKNOWN_EXTENDED_FIELD,
                    f"{name!r} is not an extended field of this org",
                    here,
                )
            else:
                problems.warn(
                    errors.FIELD_DROPPED,
                    f"{name!r} is not an extended field of this org; it was dropped",
                    here,
                )
            continue
        if value is None:
            out[name] = None
            continue
        try:
            out[name] = coerce(defn, value)
        except FieldTypeError as exc:
            if config.strict_fields:
                problems.error(errors.INVALID_FIELD_VALUE, str(exc), here)
            else:
                problems.warn(errors.FIELD_DROPPED, f"{exc}; it was dropped", here)
    return out


def _check_json(value: Any, path: str, problems: Problems) -> None:
    """SPEC 8 for free-form objects: strings of at most 1,024 characters, storable numbers."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        problems.error(errors.OUT_OF_RANGE, f"{path} must be a 64-bit integer", path)
    elif isinstance(value, float) and not math.isfinite(value):
        problems.error(errors.OUT_OF_RANGE, f"{path} must be a finite number", path)
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            problems.error(errors.TOO_LONG, f"{path} is longer than {MAX_STRING} characters", path)
    elif isinstance(value, dict):
        for k, v in value.items():
            if len(k) > MAX_STRING:
                problems.error(
                    errors.TOO_LONG, f"a key of {path} is longer than {MAX_STRING} characters", path
                )
            _check_json(v, f"{path}.{k}", problems)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, f"{path}[{i}]", problems)


def parse_expiry(text: str, now: datetime, path: str, problems: Problems) -> datetime | None:
    """Rule 8: `YYYY-MM-DDTHH:MM:SS+HH:MM` (or Z), in the future."""
    parsed: datetime | None = None
    if _EXPIRY.match(text):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None:
        problems.error(
            errors.INVALID_DATE, f"{path} must be written YYYY-MM-DDTHH:MM:SS+HH:MM (or Z)", path
        )
        return None
    if parsed <= now:
        problems.error(errors.DATE_NOT_IN_FUTURE, f"{path} must lie in the future", path)
        return None
    return parsed


def _enrolments(
    request: CustomerRequest, config: OrgConfig, out: Resolved, problems: Problems, now: datetime
) -> None:
    seen: set[int] = set()
    for e in request.enrolments:
        program = config.programs.get(e.program_id)
        ok = True
        if program is None:
            problems.error(
                errors.UNKNOWN_PROGRAM,
                f"{e.program_id} is not a loyalty program of this org",
                f"{e.field}.programId",
            )
            ok = False
        if e.program_id in seen:
            problems.error(
                errors.DUPLICATE_PROGRAM,
                f"program {e.program_id} is enrolled twice in one request",
                f"{e.field}.programId",
            )
            ok = False
        seen.add(e.program_id)
        tier = e.tier_number if e.tier_number is not None else 1
        if program is not None and tier not in program.tiers:
            problems.error(
                errors.UNKNOWN_TIER,
                f"{tier} is not a tier of program {e.program_id}",
                f"{e.field}.tierNumber",
            )
            ok = False
        tier_expiry = e.tier_expiry_date
        if (
            tier_expiry is not None
            and parse_expiry(tier_expiry, now, f"{e.field}.tierExpiryDate", problems) is None
        ):
            ok = False
        points_expires: datetime | None = None
        if e.points_expiry_date is not None:
            if not e.points:
                problems.warn(
                    errors.POINTS_EXPIRY_WITHOUT_POINTS,
                    "pointsExpiryDate was given without loyaltyPoints; it was ignored",
                    f"{e.field}.pointsExpiryDate",
                )
            else:
                points_expires = parse_expiry(
                    e.points_expiry_date, now, f"{e.field}.pointsExpiryDate", problems
                )
                ok = ok and points_expires is not None
        if ok:
            out.enrolments.append(
                REnrolment(e.program_id, tier, e.points, tier_expiry, points_expires, e.field)
            )
