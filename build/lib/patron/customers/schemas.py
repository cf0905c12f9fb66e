"""Wire models of the customer API: what a client may send and what it gets back.

Request models check JSON shape only (types, lengths, counts: SPEC 8); the rules of SPEC 6 are
the domain's (`patron.customers.resolve`, `planner`). Unknown keys are kept (`extra="allow"`) so
that they can be reported as warnings that name them (rule 10). `to_request` turns a validated
body into the plain domain request.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel

from patron.customers.requests import (
    UNSET,
    ChannelReq,
    CustomerRequest,
    EnrolmentReq,
    IdentifierReq,
    ProfileReq,
)

MAX_STRING = 1024
MAX_PROFILES = 20
MAX_IDENTIFIERS = 50
MAX_CHANNELS = 50
MAX_FIELD_KEYS = 100
MAX_ENROLMENTS = 20

BoolLike = bool | Literal["true", "false"]
"""JSON booleans or the strings "true"/"false" (rule 5)."""

IdValue = str | int
"""A string, or a JSON integer read as its decimal digits (SPEC 5.3)."""

FieldMap = dict[str, JsonValue]


class WireModel(BaseModel):
    """camelCase keys, strict JSON types, every string at most 1,024 characters."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        extra="allow",
        strict=True,
        str_max_length=MAX_STRING,
    )


class IdentifierIn(WireModel):
    """An identifier to add: `{type, value}`."""

    type: str
    value: IdValue


class ChannelIn(WireModel):
    """A communication channel to add or change."""

    type: str
    value: IdValue
    primary: BoolLike | None = None
    verified: BoolLike | None = None
    meta: FieldMap | None = Field(None, max_length=MAX_FIELD_KEYS)
    last_viewed_date: str | None = Field(
        None, description="Date or date-time; mobilePush channels only (also accepted in meta)."
    )


class ProfileIn(WireModel):
    """Changes to one profile; source/accountId default to the lookup's."""

    source: str | None = None
    account_id: str | None = None
    first_name: str | None = Field(
        None, description="At most 100 characters after trimming; null clears."
    )
    last_name: str | None = Field(
        None, description="At most 100 characters after trimming; null clears."
    )
    identifiers: list[IdentifierIn] | None = Field(None, max_length=MAX_IDENTIFIERS)
    comm_channels: list[ChannelIn] | None = Field(None, max_length=MAX_CHANNELS)
    fields: FieldMap | None = Field(
        None, max_length=MAX_FIELD_KEYS, description="Custom fields; null removes one."
    )


class LoyaltyInfoIn(WireModel):
    """`loyaltyInfo`: the other place a loyalty type may be given."""

    loyalty_type: str | None = None


class EnrolmentIn(WireModel):
    """An enrolment in one of the org's programs."""

    program_id: int
    tier_number: int | None = None
    loyalty_points: int | None = Field(None, ge=0, le=10**12)
    tier_expiry_date: str | None = Field(
        None, description="YYYY-MM-DDTHH:MM:SS+HH:MM or Z, in the future."
    )
    points_expiry_date: str | None = Field(
        None, description="YYYY-MM-DDTHH:MM:SS+HH:MM or Z, in the future."
    )


class CustomerUpdateIn(WireModel):
    """Body of `PUT /v2/customers/lookup` and `PUT /v2/customers/{id}`: every key optional."""

    loyalty_type: str | None = None
    loyalty_info: LoyaltyInfoIn | None = None
    profiles: list[ProfileIn] | None = Field(None, max_length=MAX_PROFILES)
    comm_channels: list[ChannelIn] | None = Field(
        None, max_length=MAX_CHANNELS, description="Channels of the lookup's profile."
    )
    fields: FieldMap | None = Field(
        None, max_length=MAX_FIELD_KEYS, description="Custom fields of the lookup's profile."
    )
    extended_fields: FieldMap | None = Field(None, max_length=MAX_FIELD_KEYS)
    loyalty_program_enrollments: list[EnrolmentIn] | None = Field(None, max_length=MAX_ENROLMENTS)


class CustomerRegisterIn(CustomerUpdateIn):
    """Body of `POST /v2/customers`: the keys of an update; at least one profile with an identifier."""


# --- responses (documentation only: routes render with orjson) ---------------------------


class ProblemOut(BaseModel):
    """A warning or error item."""

    code: int
    message: str
    status: bool = False
    field: str | None = None


class ChangeOut(BaseModel):
    """One changed path with its old and new value."""

    path: str
    old: JsonValue
    new: JsonValue


class WriteOut(BaseModel):
    """Success of a registration or an update."""

    model_config = ConfigDict(populate_by_name=True)

    created_id: int | None = Field(alias="createdId", description="null for a dry-run registration")
    warnings: list[ProblemOut]
    side_effects: list[dict[str, JsonValue]] = Field(alias="sideEffects")
    changes: list[ChangeOut] | None = Field(
        None, description="Dry runs only: every change it would make."
    )


class LookupOut(BaseModel):
    """The id of the customer found by an identifier."""

    entity: int
    warnings: list[ProblemOut]


class HistoryEntryOut(BaseModel):
    """One entry of a customer's change history."""

    at: str
    request_id: str = Field(alias="requestId")
    by: dict[str, str]
    changes: list[ChangeOut]


class HistoryOut(BaseModel):
    """A page of history, newest first."""

    model_config = ConfigDict(populate_by_name=True)

    data: list[HistoryEntryOut]
    next_cursor: str | None = Field(alias="nextCursor")


class CustomerOut(BaseModel):
    """A customer's full details (SPEC 5.2)."""

    id: int
    profiles: list[dict[str, Any]]
    loyalty_info: dict[str, str] = Field(alias="loyaltyInfo")
    extended_fields: dict[str, JsonValue] = Field(alias="extendedFields")
    loyalty_program_details: list[dict[str, Any]] = Field(alias="loyaltyProgramDetails")
    warnings: list[ProblemOut]


# --- wire -> domain -----------------------------------------------------------------------


def _holds_models(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_models(arg) for arg in get_args(annotation))


@cache
def _nested_fields(cls: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(name, wire name) of the fields of `cls` that can hold models (the rest hold no keys of
    their own to check, so the walk skips them)."""
    return tuple(
        (name, f.alias or name)
        for name, f in cls.model_fields.items()
        if _holds_models(f.annotation)
    )


def unknown_keys(model: BaseModel, path: str = "") -> list[str]:
    """Paths of every key the client sent that no model declares."""
    extra = model.model_extra
    found = [f"{path}.{k}" if path else k for k in extra] if extra else []
    for name, alias in _nested_fields(type(model)):
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            found += unknown_keys(value, f"{path}.{alias}" if path else alias)
        elif isinstance(value, list):
            here = f"{path}.{alias}" if path else alias
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += unknown_keys(item, f"{here}[{i}]")
    return found


def _bool(value: BoolLike | None) -> bool | None:
    return value if value is None or isinstance(value, bool) else value == "true"


def _channels(items: list[ChannelIn] | None, path: str) -> tuple[ChannelReq, ...]:
    return tuple(
        ChannelReq(
            type=c.type,
            value=c.value,
            primary=_bool(c.primary),
            verified=_bool(c.verified),
            meta=dict(c.meta) if c.meta is not None else None,
            last_viewed_date=c.last_viewed_date,
            field=f"{path}[{i}]",
        )
        for i, c in enumerate(items or ())
    )


def _profile(p: ProfileIn, path: str) -> ProfileReq:
    sent = p.model_fields_set
    return ProfileReq(
        source=p.source,
        account_id=p.account_id,
        first_name=p.first_name if "first_name" in sent else UNSET,
        last_name=p.last_name if "last_name" in sent else UNSET,
        identifiers=tuple(
            IdentifierReq(type=i.type, value=i.value, field=f"{path}.identifiers[{n}]")
            for n, i in enumerate(p.identifiers or ())
        ),
        channels=_channels(p.comm_channels, f"{path}.commChannels"),
        fields=dict(p.fields) if p.fields is not None else None,
        field=path,
    )


def to_request(body: CustomerUpdateIn) -> CustomerRequest:
    """The domain's view of a validated body."""
    top = None
    if body.comm_channels is not None or body.fields is not None:
        top = ProfileReq(
            source=None,
            account_id=None,
            channels=_channels(body.comm_channels, "commChannels"),
            fields=dict(body.fields) if body.fields is not None else None,
            field="",
        )
    return CustomerRequest(
        loyalty_type=body.loyalty_type,
        loyalty_info_type=body.loyalty_info.loyalty_type if body.loyalty_info else None,
        profiles=tuple(_profile(p, f"profiles[{i}]") for i, p in enumerate(body.profiles or ())),
        top=top,
        extended_fields=dict(body.extended_fields) if body.extended_fields is not None else None,
        enrolments=tuple(
            EnrolmentReq(
                program_id=e.program_id,
                tier_number=e.tier_number,
                points=e.loyalty_points,
                tier_expiry_date=e.tier_expiry_date,
                points_expiry_date=e.points_expiry_date,
                field=f"loyaltyProgramEnrollments[{i}]",
            )
            for i, e in enumerate(body.loyalty_program_enrollments or ())
        ),
        unknown_keys=tuple(unknown_keys(body)),
    )
