"""The customer aggregate as the planner sees it: plain data, loaded whole and locked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ProfileKey = tuple[str, str]
"""(source, accountId); the account is "" for sources without accounts."""


def profile_label(key: ProfileKey) -> str:
    """`INSTORE` or `WECHAT/wc_main`: how history paths name a profile."""
    source, account = key
    return f"{source}/{account}" if account else source


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: a till code and its type."""

    code: str
    type: str = "TILL"


@dataclass(slots=True)
class Channel:
    """A communication channel of a profile, matched on (type, value)."""

    type: str
    value: str
    primary: bool = False
    verified: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Profile:
    """The part of a customer held in one source/account."""

    source: str
    account_id: str
    first_name: str | None = None
    last_name: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    created_at: datetime | None = None
    created_by: Actor | None = None
    modified_at: datetime | None = None
    modified_by: Actor | None = None

    @property
    def key(self) -> ProfileKey:
        """(source, accountId)."""
        return (self.source, self.account_id)

    def channel(self, type_: str, value: str) -> Channel | None:
        """The channel with this type and normalised value, if any."""
        return next((c for c in self.channels if c.type == type_ and c.value == value), None)


@dataclass(slots=True)
class Enrolment:
    """A customer's membership of one program."""

    program_id: int
    tier_number: int
    tier_expiry_date: str | None = None
    points: int = 0
    """Unexpired points credited in this program (a read-only sum of the ledger)."""


@dataclass(slots=True)
class Customer:
    """One person in one org, as stored."""

    id: int
    version: int
    loyalty_type: str
    extended_fields: dict[str, Any] = field(default_factory=dict)
    profiles: dict[ProfileKey, Profile] = field(default_factory=dict)
    enrolments: dict[int, Enrolment] = field(default_factory=dict)
    created_at: datetime | None = None
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Holder:
    """A stored identifier's owner, as found when checking a request's identifiers."""

    source: str
    account_id: str
    customer_id: int
