"""Validating a request against the org's configuration: the shared validators of SPEC 5 and 6.

`resolve` turns a `CustomerRequest` into a `Resolved` request (sources and accounts checked,
identifier and channel values normalised, fields typed, enrolments checked) plus every problem
found. It does not look at the stored customer: that is the planner's job. Registration and
update both come through here, so each rule has one implementation. Pure: no I/O.

Sources and accounts are checked in `resolve_sources`, channels in `resolve_channels`, field
values in `resolve_fields`, enrolments in `resolve_enrolments`, unknown keys reported by
`unknown_keys`; what comes out is described in `resolved`. This module holds the request as a
whole: loyalty type, profiles, names and identifiers.
"""

from __future__ import annotations

from datetime import datetime

from patron import errors
from patron.customers.characters import name_problem
from patron.customers.model import ProfileKey
from patron.customers.normalise import InvalidValue, identifier_value
from patron.customers.requests import UNSET, CustomerRequest, IdentifierReq, ProfileReq, Unset
from patron.customers.resolve_channels import check_channel_set, resolve_channel
from patron.customers.resolve_enrolments import enrolments, parse_expiry
from patron.customers.resolve_fields import MAX_STRING, typed_fields
from patron.customers.resolve_sources import resolve_account, resolve_profile_key, resolve_source
from patron.customers.resolved import (
    RChannel,
    REnrolment,
    Resolved,
    RIdentifier,
    RProfile,
)
from patron.customers.spelling import canonical_kind
from patron.customers.unknown_keys import report_unknown_keys
from patron.errors import Problems
from patron.orgs.model import IDENTIFIER_TYPES, LOYALTY_TYPES, OrgConfig

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


# --- the request --------------------------------------------------------------------------


def resolve(
    request: CustomerRequest, config: OrgConfig, *, default_key: ProfileKey | None, now: datetime
) -> tuple[Resolved, Problems]:
    """Check and normalise a request. `default_key` is the lookup's profile (None: registration)."""
    problems = Problems()
    out = Resolved()
    report_unknown_keys(request.unknown_keys, problems)
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
    check_channel_set(out.profiles, problems)

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
        resolved = resolve_channel(channel, profile.key[0], config, problems)
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
