"""The declarative org document: its wire model, its limits, and its rendering back to the wire.

`OrgDocument` is the single source of truth of the document's shape: the admin API, the CLI, the
OpenAPI schema and `docs/org-config.md` (see `document_markdown`) all come from it. The model
checks JSON types and keys only (strict types, unknown keys refused); the rules about values
(lengths, uniqueness, references, ...) live in `patron.orgs.validation`, so that every problem of
a document can be reported at once, each with its field path.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

from patron import errors
from patron.orgs.model import (
    CONSENT_TYPES,
    CONSOLE_ROLES,
    DEFAULT_CONSENT,
    SOURCES,
    DataType,
    OrgConfig,
)

NAME_MAX = 200
CREDENTIAL_MAX = 128
ACCOUNT_MAX = 64
FIELD_NAME_MAX = 64
ENUM_VALUE_MAX = 255
SECRET_MIN = 8
SECRET_MAX = 1024
PROGRAM_ID_MAX = 2**63 - 1

_CREDENTIAL_RULE = f"1-{CREDENTIAL_MAX} printable ASCII characters without spaces or ':'"


class _Section(BaseModel):
    """camelCase keys only; an unknown key is an error that names it."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )


class OrgSource(_Section):
    """A source the org enables, with its accounts when it has several."""

    source: StrictStr = Field(
        description="One of the sources; each at most once.",
        json_schema_extra={"enum": list(SOURCES)},
    )
    accounts: list[StrictStr] | None = Field(
        None,
        description=(
            f"The source's accounts: a non-empty list of unique ids of 1-{ACCOUNT_MAX} characters "
            "of A-Z a-z 0-9 . _ - @. With accounts, every call in this source needs an accountId. "
            "Leave the key out for a source without accounts."
        ),
    )


class OrgTill(_Section):
    """An API credential: clients send `Basic base64(code:md5hex(password))`."""

    code: StrictStr = Field(
        description=(
            f"{_CREDENTIAL_RULE} (a Basic credential splits on the first ':'); unique in the "
            "document and across all orgs, ignoring case."
        )
    )
    password: StrictStr = Field(
        description=(
            f"{SECRET_MIN}-{SECRET_MAX} characters. Stored only as an argon2 hash of its md5 hex; "
            "never returned."
        )
    )


class OrgOAuthClient(_Section):
    """A key/secret pair that obtains OAuth tokens acting as one of the org's tills."""

    key: StrictStr = Field(
        description=f"{_CREDENTIAL_RULE}; unique in the document and across all orgs, ignoring case."
    )
    secret: StrictStr = Field(
        description=f"{SECRET_MIN}-{SECRET_MAX} characters. Stored only as an argon2 hash; never returned."
    )
    till: StrictStr = Field(description="The code of one of this document's tills.")


class OrgConsoleUser(_Section):
    """A member-care staff member who signs in to the console at `/console` with login and password."""

    login: StrictStr = Field(
        description=(
            f"{_CREDENTIAL_RULE}; unique in the document and across all orgs, ignoring case "
            "(the sign-in form asks only for login and password, so the login names the org)."
        )
    )
    password: StrictStr = Field(
        description=f"{SECRET_MIN}-{SECRET_MAX} characters. Stored only as an argon2 hash; never returned."
    )
    role: StrictStr = Field(
        description="`viewer` finds and reads customers; `editor` may also change them.",
        json_schema_extra={"enum": list(CONSOLE_ROLES)},
    )


_NAME_RULE = f"1-{NAME_MAX} characters, not blank, without control characters."
_VALUES_RULE = (
    "For STANDARD_ENUM and CUSTOM_ENUM only, and required there: a non-empty list of values of "
    f"1-{ENUM_VALUE_MAX} characters (not blank, no control characters), unique ignoring case "
    "(customers' values are matched case-insensitively and stored as written here)."
)
_FIELD_NAME_RULE = (
    f"1-{FIELD_NAME_MAX} characters of A-Z a-z 0-9 _ . -, starting with a letter, digit or '_'; "
    "unique among the fields of its kind."
)


class OrgExtendedField(_Section):
    """A typed customer attribute (`extendedFields` of the customer API), held once per customer."""

    name: StrictStr = Field(description=_FIELD_NAME_RULE)
    data_type: StrictStr = Field(
        description="The value type.", json_schema_extra={"enum": [t.value for t in DataType]}
    )
    values: list[StrictStr] | None = Field(None, description=_VALUES_RULE)


class OrgCustomField(_Section):
    """A profile attribute (`fields` of the customer API), a string unless typed."""

    name: StrictStr = Field(description=_FIELD_NAME_RULE)
    data_type: StrictStr = Field(
        DataType.STRING.value,
        description="The value type; a typed custom field is validated like an extended field.",
        json_schema_extra={"enum": [t.value for t in DataType]},
    )
    values: list[StrictStr] | None = Field(None, description=_VALUES_RULE)


class OrgTier(_Section):
    """A tier of a loyalty program."""

    number: StrictInt = Field(
        description="The tiers of a program are numbered 1, 2, ... n without gaps; 1 is the lowest."
    )
    name: StrictStr = Field(description=_NAME_RULE)


class OrgProgram(_Section):
    """A loyalty program of the org and its tiers."""

    program_id: StrictInt = Field(
        description="A positive integer, unique in the document (two orgs may use the same id)."
    )
    name: StrictStr = Field(description=_NAME_RULE)
    default: StrictBool = Field(
        False,
        description="The program a new loyalty customer joins (at tier 1) when no enrolment is asked for; at most one.",
    )
    tiers: list[OrgTier] = Field(description="At least one tier.")


_CONSENT_RULE = "`OPTIN` or `OPTOUT` (in capitals)."


class OrgSubscriptionDefaults(_Section):
    """The consent a customer has on every channel before anyone records one (SPEC 10.2)."""

    trans: StrictStr = Field(
        DEFAULT_CONSENT["TRANS"],
        alias="TRANS",
        description=f"Transactional messages: {_CONSENT_RULE}",
        json_schema_extra={"enum": list(CONSENT_TYPES)},
    )
    bulk: StrictStr = Field(
        DEFAULT_CONSENT["BULK"],
        alias="BULK",
        description=f"Promotional (bulk) messages: {_CONSENT_RULE}",
        json_schema_extra={"enum": list(CONSENT_TYPES)},
    )


class OrgDocument(_Section):
    """The whole configuration of one org; applying it makes the org exactly this."""

    name: StrictStr = Field(description=f"The org's display name: {_NAME_RULE}")
    default_country: StrictStr = Field(
        description="ISO 3166 alpha-2 code in upper case (e.g. IN); reads mobile numbers written without a country code."
    )
    strict_fields: StrictBool = Field(
        True,
        description="When true, an unknown or ill-typed extended field is an error; when false it is dropped with a warning.",
    )
    sources: list[OrgSource] = Field(default_factory=list, description="The enabled sources.")
    tills: list[OrgTill] = Field(default_factory=list, description="API credentials.")
    oauth_clients: list[OrgOAuthClient] = Field(default_factory=list, description="OAuth clients.")
    extended_fields: list[OrgExtendedField] = Field(
        default_factory=list, description="Typed customer attributes, in display order."
    )
    custom_fields: list[OrgCustomField] = Field(
        default_factory=list, description="Profile attributes, in display order."
    )
    programs: list[OrgProgram] = Field(default_factory=list, description="Loyalty programs.")
    subscription_defaults: OrgSubscriptionDefaults = Field(
        default_factory=OrgSubscriptionDefaults,
        description=(
            "Communication consent a customer has before any is recorded, per priority; "
            "a priority left out (or the whole key) is `OPTIN`."
        ),
    )
    console_users: list[OrgConsoleUser] = Field(
        default_factory=list, description="Staff of the member-care console (docs/console.md)."
    )


class StoredTill(_Section):
    """A till as the admin API returns it: no password."""

    code: str


class StoredOAuthClient(_Section):
    """An OAuth client as the admin API returns it: no secret."""

    key: str
    till: str


class StoredConsoleUser(_Section):
    """A console user as the admin API returns it: no password."""

    login: str
    role: str


class OrgView(OrgDocument):
    """What `GET`/`PUT /admin/orgs/{orgCode}` answer: the stored document without secrets."""

    org_code: str
    config_version: int = Field(description="Bumped by 1 by every apply that changes something.")
    tills: list[StoredTill] = Field(default_factory=list)  # type: ignore[assignment]
    oauth_clients: list[StoredOAuthClient] = Field(default_factory=list)  # type: ignore[assignment]
    console_users: list[StoredConsoleUser] = Field(default_factory=list)  # type: ignore[assignment]


def config_to_wire(config: OrgConfig) -> dict[str, Any]:
    """An org configuration as the admin API shows it (`OrgView`): camelCase, no secrets."""

    def fields(defs: Any) -> list[dict[str, Any]]:
        out = []
        for f in defs.values():
            item: dict[str, Any] = {"name": f.name, "dataType": f.data_type.value}
            if f.data_type.is_enum:
                item["values"] = list(f.values)
            out.append(item)
        return out

    return {
        "orgCode": config.org_id,
        "configVersion": config.version,
        "name": config.name,
        "defaultCountry": config.default_country,
        "strictFields": config.strict_fields,
        "sources": [
            {"source": s, "accounts": list(a)} if a else {"source": s}
            for s, a in config.sources.items()
        ],
        "tills": [{"code": t.code} for t in config.tills.values()],
        "oauthClients": [{"key": c.key, "till": c.till} for c in config.oauth_clients.values()],
        "extendedFields": fields(config.extended_fields),
        "customFields": fields(config.custom_fields),
        "programs": [
            {
                "programId": p.program_id,
                "name": p.name,
                "default": p.default,
                "tiers": [{"number": t.number, "name": t.name} for t in p.tiers.values()],
            }
            for p in config.programs.values()
        ],
        "subscriptionDefaults": dict(config.subscription_defaults),
        "consoleUsers": [{"login": u.login, "role": u.role} for u in config.console_users.values()],
    }


# --- docs/org-config.md --------------------------------------------------------------------

_DOC_INTRO = """\
# The org document

Generated from `src/patron/orgs/schema.py` by `patron org docs`; a test fails when they differ.

Every org is described by one declarative document. Applying it creates the org or brings it to
exactly that configuration:

- `PUT /admin/orgs/{{orgCode}}` with `Authorization: Bearer <PATRON_ADMIN_TOKEN>` and the document as
  a JSON body (it may repeat the code in a top-level `orgCode` key, which must then match the
  path); `GET /admin/orgs/{{orgCode}}` returns it. Both answer the stored document without
  passwords or secrets (tills as `{{"code"}}`, OAuth clients as `{{"key", "till"}}`, console
  users as `{{"login", "role"}}`), plus `orgCode` and `configVersion`. Sources are listed in the
  order of the source list below, accounts, tills, OAuth clients, programs and console users
  sorted, fields in the order of the document.
- `patron org apply FILE` (YAML or JSON) does the same from the command line, on the database of
  `--database-url` / `PATRON_DATABASE_URL` (run `patron migrate` first). The file names its org
  with a top-level `orgCode` key (the only key allowed besides the document's), or the command
  with `--org CODE`; when both are given they must agree. It prints `created`, `updated` or
  `unchanged` with the config version, or every problem with its field path (exit status 1).
  See `examples/demo-org.yaml`.

`orgCode` is 1 to 64 characters of `a-z`, `0-9`, `.`, `_`, `-`, starting with a letter or digit
(otherwise 400, code {INVALID_ORG_CODE}).

**Applying is idempotent.** Applying the same document again writes nothing and keeps
`configVersion`; any real change bumps it by 1 (a new org starts at 1), and every API process
serves the new configuration within `PATRON_CONFIG_CACHE_SECONDS`. Passwords and secrets are
stored only as argon2 hashes: a till's is the hash of the md5 hex of its password (what clients
send), a console user's the hash of the password itself. When a stored hash still matches the document's password it is kept (not re-salted), so
re-applying a document writes nothing.

**Validation.** A document is checked completely before anything is written, and a bad one gets
a 400 that lists every problem with its field path (`tills[0].code`): wrong JSON types and
missing keys with the codes of the shape errors ({WRONG_TYPE}, {REQUIRED}), unknown keys and broken
rules with code {INVALID_ORG_DOCUMENT}. Then, in the same transaction that writes it:

- a till code, OAuth key or console login held by another org, in any case (`ALPHA.TILL` when
  another org has `alpha.till`), is refused with 409, code {CREDENTIAL_TAKEN}, naming each;
- removing a program, or a tier, that customers are enrolled in is refused with 409, code {CONFIG_IN_USE}.

Removing a source, an account or a field keeps the customers' stored data; it is simply no longer
accepted or served until the source, account or field comes back.
"""


def _type_name(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = str(prop["$ref"]).rsplit("/", 1)[1]
        return f"[`{name}`](#{name.lower()})"
    if "anyOf" in prop:
        return " or ".join(_type_name(p) for p in prop["anyOf"] if p.get("type") != "null")
    kind = str(prop.get("type", "any"))
    if kind == "array":
        inner = _type_name(prop["items"])
        return (
            f"array of {inner}s"
            if inner in ("string", "integer", "boolean")
            else f"array of {inner}"
        )
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    return kind


def _section(name: str, schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    lines = [
        f"## `{name}`",
        "",
        str(schema.get("description", "")),
        "",
        "| key | type | required | rules |",
        "| --- | --- | --- | --- |",
    ]
    for key, prop in schema["properties"].items():
        if key in required:
            need = "yes"
        elif prop.get("default") not in (None, []):
            need = f"no (default `{json.dumps(prop['default'])}`)"
        else:
            need = "no"
        rules = str(prop.get("description", "")).replace("|", "\\|")
        lines.append(f"| `{key}` | {_type_name(prop)} | {need} | {rules} |")
    return [*lines, ""]


def document_markdown() -> str:
    """`docs/org-config.md`: the org document's reference, rendered from `OrgDocument`."""
    schema = OrgDocument.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, Any] = schema.pop("$defs", {})
    codes = {
        e.name: e.code
        for e in (
            errors.INVALID_ORG_CODE,
            errors.WRONG_TYPE,
            errors.REQUIRED,
            errors.INVALID_ORG_DOCUMENT,
            errors.CREDENTIAL_TAKEN,
            errors.CONFIG_IN_USE,
        )
    }
    lines = [_DOC_INTRO.format(**codes), *_section("OrgDocument", schema)]
    order = (
        OrgSource,
        OrgTill,
        OrgOAuthClient,
        OrgExtendedField,
        OrgCustomField,
        OrgProgram,
        OrgTier,
        OrgSubscriptionDefaults,
        OrgConsoleUser,
    )
    for model in order:
        lines.extend(_section(model.__name__, defs[model.__name__]))
    return "\n".join(lines).rstrip("\n") + "\n"
