"""Communication channels of a request: type, value, meta and lastViewedDate checked (SPEC 5.3,
rule 5), and the channels of a request checked as a set.

Pure: no I/O. Part of `patron.customers.resolve`.
"""

from __future__ import annotations

from typing import Any

from patron import errors
from patron.customers.normalise import InvalidValue, channel_value
from patron.customers.requests import ChannelReq
from patron.customers.resolve_fields import check_json
from patron.customers.resolved import RChannel, RProfile
from patron.customers.spelling import BadDate, canonical_kind, parse_date_or_datetime
from patron.errors import Problems
from patron.orgs.model import CHANNEL_TYPES, MOBILE_PUSH_SOURCES, OrgConfig

LAST_VIEWED = "lastViewedDate"


def resolve_channel(
    channel: ChannelReq, source: str, config: OrgConfig, problems: Problems
) -> RChannel | None:
    """A channel's type checked and value normalised (SPEC 5.3, rule 5), or None after an error."""
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


def check_channel_set(profiles: list[RProfile], problems: Problems) -> None:
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
