"""An org's configuration as the domain sees it: immutable, typed, no I/O.

The lists of sources, identifier types and channel types are the single source of truth for
the whole service (validation, OpenAPI enums and docs all read them from here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

OrgId = NewType("OrgId", str)
"""An org's code, as only authentication (or the admin/CLI layer) can vouch for it.

Repository functions take an `OrgId`, so a query without a tenant does not type-check."""

SOURCES: tuple[str, ...] = (
    "INSTORE",
    "MARTJACK",
    "WECHAT",
    "FACEBOOK",
    "WEB_ENGAGE",
    "TMALL",
    "TAOBAO",
    "JD",
    "ECOMMERCE",
    "WEBSITE",
    "LINE",
    "MOBILE_APP",
)

IDENTIFIER_TYPES: tuple[str, ...] = (
    "mobile",
    "email",
    "externalId",
    "cardnumber",
    "cardExternalId",
    "wechat",
    "martjackId",
    "fbId",
    "tmall_uname",
    "cuid",
    "ali_uname",
    "jd_uname",
    "vip_uname",
    "line",
    "unionId",
)

CHANNEL_TYPES: tuple[str, ...] = (
    "mobile",
    "email",
    "wechat",
    "ios",
    "android",
    "line",
    "mobilePush",
)

MOBILE_PUSH_SOURCES: frozenset[str] = frozenset(
    {"MOBILE_APP", "INSTORE", "MARTJACK", "ECOMMERCE", "WEBSITE"}
)
"""Sources whose profiles may hold a `mobilePush` channel."""

LOYALTY_TYPES: tuple[str, ...] = ("loyalty", "non_loyalty")

CONSENT_PRIORITIES: tuple[str, ...] = ("TRANS", "BULK")
"""Priorities of communication consent: transactional and promotional (bulk) messages."""

CONSENT_TYPES: tuple[str, ...] = ("OPTIN", "OPTOUT")

DEFAULT_CONSENT: dict[str, str] = {"TRANS": "OPTIN", "BULK": "OPTIN"}
"""The consent of a customer nobody recorded one for, unless the org says otherwise."""


class DataType(StrEnum):
    """Types of extended and custom fields."""

    STRING = "STRING"
    INTEGER = "INTEGER"
    DOUBLE = "DOUBLE"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    DATETIME = "DATETIME"
    STANDARD_ENUM = "STANDARD_ENUM"
    CUSTOM_ENUM = "CUSTOM_ENUM"
    COUNTRY = "COUNTRY"
    LANGUAGE = "LANGUAGE"

    @property
    def is_enum(self) -> bool:
        """Whether the field takes one of a configured list of values."""
        return self in (DataType.STANDARD_ENUM, DataType.CUSTOM_ENUM)


@dataclass(frozen=True, slots=True)
class FieldDef:
    """An extended or custom field: its name, type and, for enums, its values."""

    name: str
    data_type: DataType
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tier:
    """A numbered tier of a program (1 is the lowest)."""

    number: int
    name: str


@dataclass(frozen=True, slots=True)
class Program:
    """A loyalty program and its tiers, keyed by number."""

    program_id: int
    name: str
    default: bool
    tiers: dict[int, Tier]


@dataclass(frozen=True, slots=True)
class Till:
    """An API credential of the org; `password_hash` is argon2 of the md5 hex of the password."""

    code: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """A key/secret pair that can obtain tokens acting as one till."""

    key: str
    secret_hash: str
    till: str


CONSOLE_ROLES = ("viewer", "editor")
"""Roles of console users: a viewer reads, an editor also changes customers."""


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A member-care console user; `password_hash` is argon2 of the password itself."""

    login: str
    password_hash: str
    role: str

    @property
    def can_edit(self) -> bool:
        """Whether this user may change customers (editors only)."""
        return self.role == "editor"


@dataclass(frozen=True, slots=True)
class OrgConfig:
    """Everything the service needs to know about one org to serve its requests."""

    org_id: OrgId
    name: str
    default_country: str
    strict_fields: bool
    version: int
    sources: dict[str, tuple[str, ...]]
    """Enabled sources and their accounts (an empty tuple: the source has no accounts)."""
    tills: dict[str, Till] = field(default_factory=dict)
    oauth_clients: dict[str, OAuthClient] = field(default_factory=dict)
    extended_fields: dict[str, FieldDef] = field(default_factory=dict)
    custom_fields: dict[str, FieldDef] = field(default_factory=dict)
    programs: dict[int, Program] = field(default_factory=dict)
    subscription_defaults: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CONSENT))
    """Per priority (TRANS, BULK), the consent a customer has before anyone records one."""
    console_users: dict[str, ConsoleUser] = field(default_factory=dict)
    """Keyed by login as written; logins are unique ignoring case (`console_user`)."""

    def console_user(self, login: str) -> ConsoleUser | None:
        """The console user whose login is `login`, ignoring case."""
        wanted = login.lower()
        return next((u for u in self.console_users.values() if u.login.lower() == wanted), None)

    @property
    def default_program(self) -> Program | None:
        """The program a new loyalty customer joins when no enrolment is asked for."""
        return next((p for p in self.programs.values() if p.default), None)
