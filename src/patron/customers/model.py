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

    def holds(self, type_: str, value: str) -> bool:
        """Whether any of the customer's profiles holds this identifier."""
        return any((type_, value) in p.identifiers for p in self.profiles.values())

    def clone(self) -> Customer:
        """A copy the planner may change freely (much faster than copy.deepcopy).

        Containers are copied one level deep: the planner replaces field and meta values, it
        never changes a nested value in place.
        """
        return Customer(
            id=self.id,
            version=self.version,
            loyalty_type=self.loyalty_type,
            extended_fields=dict(self.extended_fields),
            profiles={
                key: Profile(
                    source=p.source,
                    account_id=p.account_id,
                    first_name=p.first_name,
                    last_name=p.last_name,
                    fields=dict(p.fields),
                    identifiers=list(p.identifiers),
                    channels=[
                        Channel(c.type, c.value, c.primary, c.verified, dict(c.meta))
                        for c in p.channels
                    ],
                    created_at=p.created_at,
                    created_by=p.created_by,
                    modified_at=p.modified_at,
                    modified_by=p.modified_by,
                )
                for key, p in self.profiles.items()
            },
            enrolments={
                pid: Enrolment(e.program_id, e.tier_number, e.tier_expiry_date, e.points)
                for pid, e in self.enrolments.items()
            },
            created_at=self.created_at,
            modified_at=self.modified_at,
        )


@dataclass(frozen=True, slots=True)
class Holder:
    """A stored identifier's owner, as found when checking a request's identifiers."""

    source: str
    account_id: str
    customer_id: int
