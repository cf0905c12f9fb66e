"""Validating a request against the org's configuration: the shared validators of SPEC 5 and 6.

`resolve` turns a `CustomerRequest` into a `Resolved` request (sources and accounts checked,
identifier and channel values normalised, fields typed, enrolments checked) plus every problem
found. It does not look at the stored customer: that is the planner's job. Registration and
update both come through here, so each rule has one implementation. Pure: no I/O.

Field values are resolved in `resolve_fields`, enrolments in `resolve_enrolments`; what comes
out is described in `resolved`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from patron import errors
from patron.customers.model import ProfileKey
from patron.customers.normalise import InvalidValue, channel_value, identifier_value
from patron.customers.requests import UNSET, ChannelReq, CustomerRequest, ProfileReq, Unset
from patron.customers.resolve_enrolments import enrolments, parse_expiry
from patron.customers.resolve_fields import MAX_STRING, check_json, typed_fields
from patron.customers.resolved import (
    Problems,
    RChannel,
    REnrolment,
    Resolved,
    RIdentifier,
    RProfile,
)
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
    "Problems",
    "RChannel",
    "REnrolment",
    "RIdentifier",
    "RProfile",
    "Resolved",
    "parse_expiry",
    "resolve",
    "resolve_account",
    "resolve_profile_key",
    "resolve_source",
]

MAX_NAME = 100
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
        check_json(meta, f"{channel.field}.meta", problems)
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
