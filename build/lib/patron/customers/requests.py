"""A customer request as the domain sees it: plain typed values, each with its field path."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Final


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""A key the request did not mention (as opposed to one sent as null)."""

Unset = _Unset


@dataclass(frozen=True, slots=True)
class IdentifierReq:
    """An identifier to add, as sent."""

    type: str
    value: str | int
    field: str


@dataclass(frozen=True, slots=True)
class ChannelReq:
    """A channel to add or change, as sent (booleans already read)."""

    type: str
    value: str | int
    primary: bool | None
    verified: bool | None
    meta: dict[str, Any] | None
    last_viewed_date: str | None
    field: str


@dataclass(frozen=True, slots=True)
class ProfileReq:
    """Changes to one profile; `field` is its path ("" for the top-level keys)."""

    source: str | None
    account_id: str | None
    first_name: str | _Unset | None = UNSET
    last_name: str | _Unset | None = UNSET
    identifiers: tuple[IdentifierReq, ...] = ()
    channels: tuple[ChannelReq, ...] = ()
    fields: dict[str, Any] | None = None
    field: str = ""


@dataclass(frozen=True, slots=True)
class EnrolmentReq:
    """An enrolment to make, as sent."""

    program_id: int
    tier_number: int | None
    points: int | None
    tier_expiry_date: str | None
    points_expiry_date: str | None
    field: str


@dataclass(frozen=True, slots=True)
class CustomerRequest:
    """A registration or update body."""

    loyalty_type: str | None = None
    loyalty_info_type: str | None = None
    profiles: tuple[ProfileReq, ...] = ()
    top: ProfileReq | None = None
    """Top-level commChannels/fields: they apply to the lookup's profile."""
    extended_fields: dict[str, Any] | None = None
    enrolments: tuple[EnrolmentReq, ...] = ()
    unknown_keys: tuple[str, ...] = ()
