"""The rules of the org document: every problem found at once, each with its field path.

Pure functions, no I/O. Shape problems (JSON types, missing or unknown keys) come from the wire
model; the rules about values (lengths, uniqueness, references between sections) are checked
here with `errors.INVALID_ORG_DOCUMENT`. When some sections are ill-shaped, the others are still
checked, so one answer names everything wrong with a document.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pycountry
from pydantic import ValidationError

from patron import errors
from patron.api.body import field_path, translate
from patron.errors import ApiError, Problem
from patron.orgs.model import CONSOLE_ROLES, SOURCES, DataType, OrgId
from patron.orgs.schema import (
    ACCOUNT_MAX,
    CREDENTIAL_MAX,
    ENUM_VALUE_MAX,
    FIELD_NAME_MAX,
    NAME_MAX,
    PROGRAM_ID_MAX,
    SECRET_MAX,
    SECRET_MIN,
    OrgConsoleUser,
    OrgCustomField,
    OrgDocument,
    OrgExtendedField,
    OrgOAuthClient,
    OrgTill,
)

ORG_CODE_KEY = "orgCode"
"""The key that may name the org inside a document (org files carry it)."""
ORG_CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_ACCOUNT = re.compile(rf"[A-Za-z0-9._@-]{{1,{ACCOUNT_MAX}}}")
# Printable ASCII without space or ':' (a Basic credential is split on its first ':').
_CREDENTIAL = re.compile(rf"[\x21-\x39\x3b-\x7e]{{1,{CREDENTIAL_MAX}}}")
_FIELD_NAME = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{FIELD_NAME_MAX - 1}}}")
_DATA_TYPES = tuple(t.value for t in DataType)
# C0 and C1 controls: PostgreSQL cannot store NUL, and none belongs in a display name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Stand-ins for required top-level keys whose own value was ill-shaped, so that the other
# sections can still be checked; the stand-ins themselves are never checked.
_PLACEHOLDERS = {"name": "-", "defaultCountry": "-"}


def org_code_problems(code: str) -> list[Problem]:
    """The problem with an org code, if any (1-64 of a-z 0-9 . _ -, starting alphanumeric)."""
    if ORG_CODE.fullmatch(code):
        return []
    return [
        Problem(
            errors.INVALID_ORG_CODE,
            f"orgCode {code[:80]!r} must be 1-64 characters of a-z, 0-9, '.', '_', '-' "
            "starting with a letter or digit",
            "orgCode",
        )
    ]


def org_id_of(code: str) -> OrgId:
    """The org id of a valid org code; ApiError 400 (INVALID_ORG_CODE) otherwise."""
    problems = org_code_problems(code)
    if problems:
        raise ApiError(problems)
    return OrgId(code)


class _Report:
    """Problems of one document, in the order they were found."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(errors.INVALID_ORG_DOCUMENT, f"{path} {message}", path))

    def text(self, path: str, value: str, limit: int = NAME_MAX) -> bool:
        """A display text: not blank, at most `limit` characters, no control characters."""
        if not value.strip():
            self.add(path, "must not be blank")
        elif len(value) > limit:
            self.add(path, f"is longer than {limit} characters")
        elif _CONTROL.search(value) or not _encodable(value):
            self.add(path, "must not contain control characters or unpaired surrogates")
        else:
            return True
        return False

    def secret(self, path: str, value: str) -> None:
        if not SECRET_MIN <= len(value) <= SECRET_MAX:
            self.add(path, f"must be {SECRET_MIN} to {SECRET_MAX} characters long")
        elif not _encodable(value):
            self.add(path, "must not contain unpaired surrogates")

    def unique(self, path: str, value: object, seen: dict[Any, str], shown: str) -> None:
        """Report `value` when an earlier item (remembered in `seen`) had it."""
        if value in seen:
            self.add(path, f"{shown} repeats {seen[value]}")
        else:
            seen[value] = path


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_country(report: _Report, code: str) -> None:
    ok = len(code) == 2 and code.isascii() and code.isupper()
    if not ok or pycountry.countries.get(alpha_2=code) is None:
        report.add("defaultCountry", f"{code[:20]!r} is not an ISO 3166 alpha-2 code (such as IN)")


def _check_sources(report: _Report, doc: OrgDocument) -> None:
    seen: dict[Any, str] = {}
    for i, entry in enumerate(doc.sources):
        path = f"sources[{i}]"
        if entry.source not in SOURCES:
            report.add(
                f"{path}.source", f"{entry.source[:40]!r} is not one of {', '.join(SOURCES)}"
            )
        else:
            report.unique(f"{path}.source", entry.source, seen, entry.source)
        if entry.accounts is None:
            continue
        if not entry.accounts:
            report.add(
                f"{path}.accounts", "must not be empty (leave it out for a source without accounts)"
            )
        accounts: dict[Any, str] = {}
        for k, account in enumerate(entry.accounts):
            apath = f"{path}.accounts[{k}]"
            if not _ACCOUNT.fullmatch(account):
                report.add(
                    apath,
                    f"{account[:80]!r} must be 1-{ACCOUNT_MAX} characters of A-Z a-z 0-9 . _ - @",
                )
            else:
                report.unique(apath, account, accounts, repr(account))


def _credential(report: _Report, path: str, value: str, seen: dict[Any, str]) -> None:
    if not _CREDENTIAL.fullmatch(value):
        report.add(
            path,
            f"{value[:80]!r} must be 1-{CREDENTIAL_MAX} printable ASCII characters without "
            "spaces or ':'",
        )
    else:
        report.unique(path, value, seen, repr(value))


def _check_tills(report: _Report, tills: Sequence[OrgTill]) -> None:
    codes: dict[Any, str] = {}
    for i, till in enumerate(tills):
        _credential(report, f"tills[{i}].code", till.code, codes)
        report.secret(f"tills[{i}].password", till.password)


def _check_oauth_clients(
    report: _Report, clients: Sequence[OrgOAuthClient], tills: Sequence[OrgTill] | None
) -> None:
    """`tills` is None when the document's tills are ill-shaped (references are not checked)."""
    keys: dict[Any, str] = {}
    codes = {t.code for t in tills or ()}
    for i, client in enumerate(clients):
        path = f"oauthClients[{i}]"
        _credential(report, f"{path}.key", client.key, keys)
        report.secret(f"{path}.secret", client.secret)
        if tills is not None and client.till not in codes:
            report.add(f"{path}.till", f"{client.till[:80]!r} is not a till of this document")


def _check_console_users(report: _Report, users: Sequence[OrgConsoleUser]) -> None:
    # Logins are compared ignoring case: staff type them by hand, and the login alone names the
    # org at sign-in, so `Asha` and `asha` must never be two people.
    logins: dict[Any, str] = {}
    for i, user in enumerate(users):
        path = f"consoleUsers[{i}]"
        if not _CREDENTIAL.fullmatch(user.login):
            report.add(
                f"{path}.login",
                f"{user.login[:80]!r} must be 1-{CREDENTIAL_MAX} printable ASCII characters "
                "without spaces or ':'",
            )
        else:
            report.unique(
                f"{path}.login", user.login.lower(), logins, f"{user.login!r} (ignoring case)"
            )
        report.secret(f"{path}.password", user.password)
        if user.role not in CONSOLE_ROLES:
            report.add(
                f"{path}.role", f"{user.role[:40]!r} is not one of {', '.join(CONSOLE_ROLES)}"
            )


def _check_fields(
    report: _Report, section: str, fields: Sequence[OrgExtendedField | OrgCustomField]
) -> None:
    names: dict[Any, str] = {}
    for i, f in enumerate(fields):
        path = f"{section}[{i}]"
        if not _FIELD_NAME.fullmatch(f.name):
            report.add(
                f"{path}.name",
                f"{f.name[:80]!r} must be 1-{FIELD_NAME_MAX} characters of A-Z a-z 0-9 _ . - "
                "starting with a letter, digit or '_'",
            )
        else:
            report.unique(f"{path}.name", f.name, names, repr(f.name))
        if f.data_type not in _DATA_TYPES:
            report.add(
                f"{path}.dataType", f"{f.data_type[:40]!r} is not one of {', '.join(_DATA_TYPES)}"
            )
        elif DataType(f.data_type).is_enum:
            _check_enum_values(report, f"{path}.values", f.values, f.data_type)
        elif f.values is not None:
            report.add(f"{path}.values", "is allowed only for STANDARD_ENUM and CUSTOM_ENUM fields")


def _check_enum_values(
    report: _Report, path: str, values: list[str] | None, data_type: str
) -> None:
    if not values:
        report.add(path, f"must be a non-empty list for a {data_type} field")
        return
    seen: dict[Any, str] = {}
    for k, value in enumerate(values):
        vpath = f"{path}[{k}]"
        if report.text(vpath, value, ENUM_VALUE_MAX):
            report.unique(vpath, value.casefold(), seen, f"{value!r} (ignoring case)")


def _check_programs(report: _Report, doc: OrgDocument) -> None:
    ids: dict[Any, str] = {}
    default: str | None = None
    for i, program in enumerate(doc.programs):
        path = f"programs[{i}]"
        if not 1 <= program.program_id <= PROGRAM_ID_MAX:
            report.add(
                f"{path}.programId", f"must be a positive integer of at most {PROGRAM_ID_MAX}"
            )
        else:
            report.unique(f"{path}.programId", program.program_id, ids, str(program.program_id))
        report.text(f"{path}.name", program.name)
        if program.default:
            if default is not None:
                report.add(
                    f"{path}.default", f"is true, but {default} is already the default program"
                )
            else:
                default = path
        if not program.tiers:
            report.add(f"{path}.tiers", "must have at least one tier")
        numbers: dict[Any, str] = {}
        count = len(program.tiers)
        for k, tier in enumerate(program.tiers):
            tpath = f"{path}.tiers[{k}]"
            if not 1 <= tier.number <= count:
                report.add(
                    f"{tpath}.number",
                    f"{tier.number} is out of sequence: the {count} tier(s) of a program are "
                    f"numbered 1 to {count} without gaps",
                )
            else:
                report.unique(f"{tpath}.number", tier.number, numbers, str(tier.number))
            report.text(f"{tpath}.name", tier.name)


def document_problems(doc: OrgDocument, skip: Collection[str] = ()) -> list[Problem]:
    """Every broken rule of a well-shaped document; sections named in `skip` are not checked."""
    report = _Report()
    if "name" not in skip:
        report.text("name", doc.name)
    if "defaultCountry" not in skip:
        _check_country(report, doc.default_country)
    if "sources" not in skip:
        _check_sources(report, doc)
    if "tills" not in skip:
        _check_tills(report, doc.tills)
    if "oauthClients" not in skip:
        _check_oauth_clients(report, doc.oauth_clients, None if "tills" in skip else doc.tills)
    if "extendedFields" not in skip:
        _check_fields(report, "extendedFields", doc.extended_fields)
    if "customFields" not in skip:
        _check_fields(report, "customFields", doc.custom_fields)
    if "programs" not in skip:
        _check_programs(report, doc)
    if "consoleUsers" not in skip:
        _check_console_users(report, doc.console_users)
    return report.problems


def _shape_problems(errs: list[Any]) -> list[Problem]:
    """Pydantic's errors as catalogue problems; an unknown key is a broken rule naming it."""
    problems: list[Problem] = []
    seen: set[tuple[int, str | None]] = set()
    for err in errs:
        if err["type"] == "extra_forbidden":
            path = field_path(err["loc"])
            key = str(err["loc"][-1])[:80]
            problem = Problem(errors.INVALID_ORG_DOCUMENT, f"{path}: unknown key {key!r}", path)
        else:
            problem = translate([err]).errors[0]
        if (problem.entry.code, problem.field) not in seen:
            seen.add((problem.entry.code, problem.field))
            problems.append(problem)
    return problems


def _intact_part(raw: object, errs: list[Any]) -> tuple[OrgDocument | None, set[str]]:
    """The document without its ill-shaped top-level sections, and the names of those."""
    broken = {str(err["loc"][0]) for err in errs if err["loc"]}
    if not isinstance(raw, Mapping) or any(not err["loc"] for err in errs):
        return None, broken
    rest = {k: v for k, v in raw.items() if k not in broken}
    for key, stand_in in _PLACEHOLDERS.items():
        if key in broken:
            rest[key] = stand_in
    try:
        return OrgDocument.model_validate(rest), broken
    except ValidationError:
        return None, broken


def parse_document(raw: object) -> tuple[OrgDocument | None, list[Problem]]:
    """The document in `raw` (decoded JSON or YAML) and every problem with it."""
    try:
        doc = OrgDocument.model_validate(raw)
    except ValidationError as exc:
        errs = list(exc.errors())
        problems = _shape_problems(errs)
        partial, broken = _intact_part(raw, errs)
        if partial is not None:
            problems += document_problems(partial, skip=broken)
        return None, problems
    return doc, document_problems(doc)


def load_document(org_code: str, raw: object) -> OrgDocument:
    """The valid document for org `org_code`; ApiError 400 naming every problem otherwise.

    `raw` may repeat the org's code in a top-level `orgCode` key (as org files do); it must then
    be the same code.
    """
    problems = org_code_problems(org_code)
    if isinstance(raw, Mapping) and ORG_CODE_KEY in raw:
        raw = dict(raw)
        named = raw.pop(ORG_CODE_KEY)
        if named != org_code:
            problems.append(
                Problem(
                    errors.INVALID_ORG_CODE,
                    f"orgCode {str(named)[:80]!r} differs from the org code {org_code[:80]!r}",
                    ORG_CODE_KEY,
                )
            )
    doc, found = parse_document(raw)
    problems += found
    if problems or doc is None:
        raise ApiError(problems)
    return doc
