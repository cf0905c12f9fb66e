"""The console's edit form: built from a customer, read from a POST, turned into an update body.

Pure: no I/O. The body the form becomes is an ordinary update body (`CustomerUpdateIn`), so an
edit goes through exactly the API's validation, resolve and planner. Every value of the form is
sent, empty meaning `null`: the planner records only what really changes, and If-Match on the
rendered version makes sending unchanged values safe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from patron.customers.model import Customer, ProfileKey, profile_label
from patron.orgs.model import OrgConfig


@dataclass(slots=True)
class ChannelRow:
    """One existing channel of the profile: its identity and its two flags."""

    type: str
    value: str
    primary: bool
    verified: bool


@dataclass(slots=True)
class EditForm:
    """The values of the edit form of one profile, as shown or as posted."""

    key: ProfileKey
    version: int | None
    first_name: str = ""
    last_name: str = ""
    channels: list[ChannelRow] = field(default_factory=list)
    new_channel_type: str = ""
    new_channel_value: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    extended: dict[str, str] = field(default_factory=dict)

    @property
    def profile(self) -> str:
        """The profile as the form's hidden input names it: `INSTORE` or `WECHAT/wc_main`."""
        return profile_label(self.key)


def shown(value: Any) -> str:
    """A stored field value as a form input holds it (`true`/`false` for booleans)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_profile(label: str, config: OrgConfig) -> ProfileKey | None:
    """The (source, account) a profile label names, if the org has that source/account."""
    source, _, account = label.partition("/")
    accounts = config.sources.get(source)
    if accounts is None or (account not in accounts if accounts else account != ""):
        return None
    return (source, account)


def from_customer(customer: Customer, key: ProfileKey, config: OrgConfig) -> EditForm:
    """The form of profile `key` as the customer holds it now."""
    p = customer.profiles[key]
    return EditForm(
        key=key,
        version=customer.version,
        first_name=p.first_name or "",
        last_name=p.last_name or "",
        channels=[ChannelRow(c.type, c.value, c.primary, c.verified) for c in p.channels],
        fields={name: shown(p.fields.get(name)) for name in config.custom_fields},
        extended={
            name: shown(customer.extended_fields.get(name)) for name in config.extended_fields
        },
    )


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isascii() and text.isdigit() else None


def from_post(data: Mapping[str, str], key: ProfileKey, config: OrgConfig) -> EditForm:
    """The form as posted (inputs the org no longer has are ignored)."""
    channels = []
    for i in range(_int(data.get("channels")) or 0):
        type_, value = data.get(f"channel.{i}.type"), data.get(f"channel.{i}.value")
        if type_ is None or value is None:
            continue
        # An unchecked box is not sent at all: its absence is "false".
        channels.append(
            ChannelRow(
                type_,
                value,
                primary=f"channel.{i}.primary" in data,
                verified=f"channel.{i}.verified" in data,
            )
        )
    return EditForm(
        key=key,
        version=_int(data.get("version")),
        first_name=data.get("firstName", ""),
        last_name=data.get("lastName", ""),
        channels=channels,
        new_channel_type=data.get("newChannel.type", ""),
        new_channel_value=data.get("newChannel.value", ""),
        fields={n: data.get(f"field.{n}", "") for n in config.custom_fields},
        extended={n: data.get(f"ext.{n}", "") for n in config.extended_fields},
    )


def _or_null(text: str) -> str | None:
    return text if text.strip() else None


def update_body(form: EditForm) -> dict[str, Any]:
    """The update body (SPEC section 6) the form asks for."""
    channels: list[dict[str, Any]] = [
        {"type": c.type, "value": c.value, "primary": c.primary, "verified": c.verified}
        for c in form.channels
    ]
    if form.new_channel_type.strip() or form.new_channel_value.strip():
        channels.append({"type": form.new_channel_type, "value": form.new_channel_value})
    source, account = form.key
    profile: dict[str, Any] = {
        "source": source,
        "firstName": _or_null(form.first_name),
        "lastName": _or_null(form.last_name),
        "commChannels": channels,
        "fields": {n: _or_null(v) for n, v in form.fields.items()},
    }
    if account:
        profile["accountId"] = account
    body: dict[str, Any] = {"profiles": [profile]}
    if form.extended:
        body["extendedFields"] = {n: _or_null(v) for n, v in form.extended.items()}
    return body


_CHANNEL = re.compile(r"profiles\[0\]\.commChannels\[(\d+)\]")


def input_of(path: str | None, form: EditForm) -> str | None:
    """The form input a problem's field path names (None: the problem is about the whole form)."""
    if path is None:
        return None
    for prefix, name in (
        ("profiles[0].firstName", "firstName"),
        ("profiles[0].lastName", "lastName"),
    ):
        if path == prefix:
            return name
    if m := _CHANNEL.match(path):
        index = int(m.group(1))
        return f"channel.{index}" if index < len(form.channels) else "newChannel"
    for prefix, kind in (("profiles[0].fields.", "field"), ("extendedFields.", "ext")):
        if path.startswith(prefix):
            return f"{kind}.{path.removeprefix(prefix)}"
    return None
