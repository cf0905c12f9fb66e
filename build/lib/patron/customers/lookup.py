"""Reading the lookup parameters of SPEC 5.1 into a checked `Lookup`. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from patron import errors
from patron.customers.model import ProfileKey
from patron.customers.normalise import InvalidValue, identifier_value
from patron.customers.resolve import Problems, resolve_account, resolve_source
from patron.errors import ApiError
from patron.orgs.model import IDENTIFIER_TYPES, OrgConfig


@dataclass(frozen=True, slots=True)
class Lookup:
    """A checked identifier lookup; `key` is None for `source=ALL`."""

    key: ProfileKey | None
    id_type: str
    value: str


def profile_selector(
    config: OrgConfig,
    source: str | None,
    account_id: str | None,
    *,
    allow_all: bool,
    problems: Problems,
) -> ProfileKey | None:
    """The (source, account) of `source`/`accountId` parameters; None means ALL (or a problem)."""
    resolved = resolve_source(source, config, problems, "source", allow_all=allow_all)
    if resolved is None or resolved == "ALL":
        return None
    account = resolve_account(resolved, account_id, config, problems, "accountId")
    return None if account is None else (resolved, account)


def parse_lookup(
    config: OrgConfig,
    source: str | None,
    account_id: str | None,
    identifier_name: str | None,
    identifier_value_: str | None,
    *,
    allow_all: bool,
) -> Lookup:
    """Check every lookup parameter, raising ApiError with all problems at once."""
    problems = Problems()
    key = profile_selector(config, source, account_id, allow_all=allow_all, problems=problems)
    name = (identifier_name or "").strip()
    raw = (identifier_value_ or "").strip()
    if not name:
        problems.error(errors.INVALID_IDENTIFIER, "identifierName is required", "identifierName")
    elif name not in IDENTIFIER_TYPES:
        problems.error(
            errors.INVALID_IDENTIFIER, f"{name!r} is not an identifier type", "identifierName"
        )
    if not raw:
        problems.error(errors.INVALID_IDENTIFIER, "identifierValue is required", "identifierValue")
    value = ""
    if "\x00" in raw:
        problems.error(
            errors.INVALID_CHARACTER, "identifierValue holds a NUL character", "identifierValue"
        )
    elif name in IDENTIFIER_TYPES and raw:
        try:
            value = identifier_value(name, raw, config.default_country)
        except InvalidValue as exc:
            problems.error(exc.entry, exc.message, "identifierValue")
    if problems.errors:
        raise ApiError(problems.errors)
    return Lookup(key, name, value)
