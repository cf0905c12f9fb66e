"""Sources and accounts of a request checked against the org's configuration (SPEC 5.1, rule 2).

Pure: no I/O. The profile entries of a registration or update, the lookup parameters and the
consent routes all name their source and account through here.
"""

from __future__ import annotations

from patron import errors
from patron.customers.model import ProfileKey
from patron.errors import Problems
from patron.orgs.model import SOURCES, OrgConfig

_SOURCES_BY_UPPER = {s.upper(): s for s in SOURCES}


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
