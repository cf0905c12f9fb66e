"""Validating a request against the org's configuration: the shared validators of SPEC 5 and 6.

`resolve` turns a `CustomerRequest` into a `Resolved` request (sources and accounts checked,
identifier and channel values normalised, fields typed, enrolments checked) plus every problem
found. It does not look at the stored customer: that is the planner's job. Registration and
update both come through here, so each rule has one implementation. Pure: no I/O.

Field values are resolved in `resolve_fields`, enrolments in `resolve_enrolments`; what comes
out is described in `resolved`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patron import errors
from patron.customers.characters import name_problem
from patron.customers.model import ProfileKey
from patron.customers.normalise import InvalidValue, channel_value, identifier_value
from patron.customers.requests import (
    UNSET,
    ChannelReq,
    CustomerRequest,
    IdentifierReq,
    ProfileReq,
    Unset,
)
from patron.customers.resolve_enrolments import enrolments, parse_expiry
from patron.customers.resolve_fields import MAX_STRING, check_json, typed_fields
from patron.customers.resolved import (
    RChannel,
    REnrolment,
    Resolved,
    RIdentifier,
    RProfile,
)
from patron.customers.spelling import BadDate, canonical_kind, parse_date_or_datetime
from patron.errors import Problems
from patron.orgs.model import (
    CHANNEL_TYPES,
    IDENTIFIER_TYPES,
    LOYALTY_TYPES,
    MOBILE_PUSH_SOURCES,
    SOURCES,
    OrgConfig,
)

__all__ = [
    "MAX_STRING",
    "RChannel",
    "REnrolment",
    "RIdentifier",
    "RProfile",
    "Resolved",
    "identifier_type",
    "parse_expiry",
    "report_unknown_keys",
    "resolve",
    "resolve_account",
    "resolve_identifier",
    "resolve_profile_key",
    "resolve_source",
]

MAX_NAME = 100
MAX_UNKNOWN_KEYS = 100
"""SPEC 8: unknown keys reported as warnings at most; a request with more is refused."""
LAST_VIEWED = "lastViewedDate"
_SOURCES_BY_UPPER = {s.upper(): s for s in SOURCES}


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
    _unknown_keys(request, problems)
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
        out.extended_fields = typed_fields(
            request.extended_fields,
            config.extended_fields,
            "extendedFields",
            config,
            problems,
            extended=True,
        )
    enrolments(request, config, out, problems, now)
    return out, problems


def _unknown_keys(request: CustomerRequest, problems: Problems) -> None:
    report_unknown_keys(request.unknown_keys, problems)


def report_unknown_keys(keys: tuple[str, ...], problems: Problems) -> None:
    """Rule 10 and SPEC 8: a warning naming each unknown key, or one 400 past 100 of them."""
    if len(keys) > MAX_UNKNOWN_KEYS:
        # One error instead of thousands of warnings: the answer stays small.
        problems.error(
            errors.TOO_MANY,
            f"the body has {len(keys)} keys patron does not know (the first is {keys[0][:80]!r}); "
            f"at most {MAX_UNKNOWN_KEYS} are accepted",
        )
        return
    for path in keys:
        problems.warn(errors.UNKNOWN_KEY, f"{path} is not a key patron knows; it was ignored", path)


def _loyalty_type(request: CustomerRequest, out: Resolved, problems: Problems) -> None:
    given: list[tuple[str, str]] = []
    for raw, path in (
        (request.loyalty_type, "loyaltyType"),
        (request.loyalty_info_type, "loyaltyInfo.loyaltyType"),
    ):
        if raw == "":
            problems.warn(
                errors.EMPTY_VALUE_IGNORED, f"{path} was sent empty; it was read as not given", path
            )
        elif raw is not None:
            given.append((raw, path))
    read = [(canonical_kind(raw, LOYALTY_TYPES) or raw, path) for raw, path in given]
    if len({value for value, _ in read}) > 1:
        problems.error(
            errors.LOYALTY_TYPE_CONFLICT,
            "loyaltyType and loyaltyInfo.loyaltyType differ",
            "loyaltyType",
        )
        return
    if not read:
        return
    value, path = read[0]
    if value not in LOYALTY_TYPES:
        problems.error(
            errors.INVALID_LOYALTY_TYPE,
            f"loyaltyType must be loyalty or non_loyalty, not {given[0][0]!r}",
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
    problem = name_problem(trimmed)
    if problem is not None:
        problems.error(errors.INVALID_NAME, f"{path} {problem}", path)
        return UNSET
    return trimmed


def resolve_identifier(
    ident: IdentifierReq, config: OrgConfig, problems: Problems
) -> RIdentifier | None:
    """An identifier's type checked and value normalised (SPEC 5.3), or None after an error."""
    type_ = identifier_type(ident, problems)
    if type_ is None:
        return None
    try:
        value = identifier_value(type_, ident.value, config.default_country)
    except InvalidValue as exc:
        problems.error(exc.entry, exc.message, f"{ident.field}.value")
        return None
    return RIdentifier(type_, value, ident.field)


def identifier_type(ident: IdentifierReq, problems: Problems) -> str | None:
    """The identifier type an entry names, in any case (SPEC 5.4), or None after recording 8013."""
    kind = canonical_kind(ident.type, IDENTIFIER_TYPES)
    if kind is None:
        problems.error(
            errors.INVALID_IDENTIFIER,
            f"{ident.type!r} is not an identifier type",
            f"{ident.field}.type",
        )
    return kind


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
        resolved_ident = resolve_identifier(ident, config, problems)
        if resolved_ident is None:
            continue
        if (resolved_ident.type, resolved_ident.value) not in seen:  # twice adds it once
            seen.add((resolved_ident.type, resolved_ident.value))
            profile.identifiers.append(resolved_ident)
    for channel in entry.channels:
        resolved = _channel(channel, profile.key[0], config, problems)
        if resolved is not None:
            profile.channels.append(resolved)
    if entry.fields is not None:
        profile.fields.update(
            typed_fields(
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
    kind = canonical_kind(channel.type, CHANNEL_TYPES)
    if kind is None:
        problems.error(
            errors.INVALID_CHANNEL,
            f"{channel.type!r} is not a channel type",
            f"{channel.field}.type",
        )
        return None
    if kind == "mobilePush" and source not in MOBILE_PUSH_SOURCES:
        problems.error(
            errors.INVALID_CHANNEL,
            f"mobilePush channels are only for {', '.join(sorted(MOBILE_PUSH_SOURCES))} profiles, "
            f"not {source}",
            f"{channel.field}.type",
        )
        return None
    try:
        value = channel_value(kind, channel.value, config.default_country)
    except InvalidValue as exc:
        problems.error(exc.entry, exc.message, f"{channel.field}.value")
        return None
    meta = dict(channel.meta) if channel.meta is not None else None
    viewed = _viewed_as_sent(channel, meta)
    if kind != "mobilePush":
        # A value patron drops is not validated first (SPEC 5.4); each warning names the path
        # it was sent at.
        for _, path in viewed:
            problems.warn(
                errors.LAST_VIEWED_DROPPED,
                f"lastViewedDate applies to mobilePush channels only, not {kind}; it was dropped",
                path,
            )
        if meta is not None and viewed:
            meta.pop(LAST_VIEWED, None)
        viewed = []
    elif meta is not None and meta.get(LAST_VIEWED) is not None:
        meta.pop(LAST_VIEWED)  # put back below once read; a null stays, to clear it
    if meta is not None:
        check_json(meta, f"{channel.field}.meta", problems)
    read = _last_viewed(viewed, channel.field, problems)
    if read is not None:
        meta = meta if meta is not None else {}
        meta[LAST_VIEWED] = read
    return RChannel(kind, value, channel.primary, channel.verified, meta, channel.field)


def _viewed_as_sent(channel: ChannelReq, meta: dict[str, Any] | None) -> list[tuple[Any, str]]:
    """Each lastViewedDate the channel carries (on it, in its meta) with the path it was sent at."""
    sent: list[tuple[Any, str]] = []
    if channel.last_viewed_date is not None:
        sent.append((channel.last_viewed_date, f"{channel.field}.lastViewedDate"))
    if meta is not None and meta.get(LAST_VIEWED) is not None:
        sent.append((meta[LAST_VIEWED], f"{channel.field}.meta.lastViewedDate"))
    return sent


def _last_viewed(sent: list[tuple[Any, str]], field: str, problems: Problems) -> str | None:
    """A mobilePush channel's lastViewedDate in canonical spelling; "" reads as not given."""
    read: dict[str, str] = {}
    for value, path in sent:
        if value == "":
            problems.warn(
                errors.EMPTY_VALUE_IGNORED,
                "lastViewedDate was sent empty; it was read as not given",
                path,
            )
            continue
        if not isinstance(value, str):
            problems.error(
                errors.INVALID_DATE, "lastViewedDate must be a date or an ISO 8601 date-time", path
            )
            continue
        try:
            read[parse_date_or_datetime(value, "lastViewedDate")] = path
        except BadDate as exc:
            problems.error(exc.entry, exc.message, path)
    if len(read) > 1:
        problems.error(
            errors.LAST_VIEWED_CONFLICT,
            "lastViewedDate differs between the channel and its meta",
            f"{field}.lastViewedDate",
        )
        return None
    return next(iter(read), None)


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
