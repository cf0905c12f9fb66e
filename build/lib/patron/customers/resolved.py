"""What resolving a request produces: the checked request and the problems found. Plain data."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as default
from datetime import datetime
from typing import Any

from patron.customers.model import ProfileKey
from patron.customers.requests import UNSET, Unset
from patron.errors import Entry, Problem


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
