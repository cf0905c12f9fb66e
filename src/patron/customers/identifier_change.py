"""What a changeIdentifier means (SPEC 10.1): the one place that decides it. Pure: no I/O.

`resolve_change` checks a request against the org's configuration; `plan_change` applies it to
the stored customer and returns a `Plan` like the update's, so the same rows, history entry,
change events, dry-run answer and Idempotency-Key record follow from it. Removes apply first,
then adds, all to the one profile the query names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from patron import errors
from patron.customers.model import Actor, Customer, Holder, Profile, ProfileKey, profile_label
from patron.customers.normalise import InvalidValue, identifier_value
from patron.customers.planner import Change, Plan, Writes
from patron.customers.requests import IdentifierChangeRequest
from patron.customers.resolve import identifier_type, resolve_identifier
from patron.customers.resolved import RIdentifier
from patron.errors import Problems
from patron.orgs.model import OrgConfig

Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Removal:
    """An identifier to remove: its type and the values a stored one may have."""

    type: str
    values: tuple[str, ...]
    """The normalised value first, then the value as sent (a value stored before today's
    normalisation can still be removed by the exact text it has)."""
    field: str


@dataclass(slots=True)
class ResolvedChange:
    """A changeIdentifier request checked against the org's configuration."""

    add: list[RIdentifier] = field(default_factory=list)
    remove: list[Removal] = field(default_factory=list)


def resolve_change(
    request: IdentifierChangeRequest, config: OrgConfig
) -> tuple[ResolvedChange, Problems]:
    """Check the lists' types and normalise their values; every problem is collected."""
    problems = Problems()
    out = ResolvedChange()
    for path in request.unknown_keys:
        problems.warn(errors.UNKNOWN_KEY, f"{path} is not a key patron knows; it was ignored", path)
    if not request.add and not request.remove:
        problems.error(
            errors.NO_IDENTIFIER_CHANGE, "name at least one identifier to add or remove", "add"
        )
    for ident in request.add:
        resolved = resolve_identifier(ident, config, problems)
        if resolved is not None:
            out.add.append(resolved)
    for ident in request.remove:
        type_ = identifier_type(ident, problems)
        if type_ is None:
            continue
        sent = str(ident.value).strip()
        try:
            values = [identifier_value(type_, ident.value, config.default_country)]
        except InvalidValue:
            values = []  # not a valid value today; it may still be stored as sent
        out.remove.append(Removal(type_, tuple(dict.fromkeys([*values, sent])), ident.field))
    return out, problems


def _identifier(pair: Pair) -> dict[str, str]:
    return {"type": pair[0], "value": pair[1]}


def plan_change(
    customer: Customer,
    key: ProfileKey,
    change: ResolvedChange,
    problems: Problems,
    *,
    holders: Mapping[Pair, Sequence[Holder]],
    now: datetime,
    actor: Actor,
) -> Plan:
    """Remove, then add, identifiers of `customer`'s profile `key`. Pure."""
    after = customer.clone()
    label = profile_label(key)
    held = list(after.profiles[key].identifiers) if key in after.profiles else []

    removed: list[Pair] = []
    for r in change.remove:
        pair = next(((r.type, v) for v in r.values if (r.type, v) in held), None)
        if pair is None:
            problems.error(
                errors.IDENTIFIER_NOT_ON_PROFILE,
                f"{r.type} {r.values[0]} is not an identifier of this customer's {label} profile",
                r.field,
            )
        elif pair not in removed:
            removed.append(pair)

    added: list[Pair] = []
    for a in change.add:
        pair = (a.type, a.value)
        if pair in removed:
            removed.remove(pair)  # removed, then added back: it stays as it is
            continue
        if pair in held or pair in added:
            continue  # rule 4: already on this profile, nothing changes
        if _taken(customer.id, key, label, pair, holders.get(pair, ()), a.field, problems):
            continue
        added.append(pair)

    writes = Writes()
    changes: list[Change] = []
    if not problems.errors and (removed or added):
        prof = after.profiles.get(key)
        if prof is None:
            # SPEC 10.1: a missing profile in that source/account is created for the adds.
            prof = after.profiles[key] = Profile(
                source=key[0],
                account_id=key[1],
                created_at=now,
                created_by=actor,
                modified_at=now,
                modified_by=actor,
            )
            writes.new_profiles.append(key)
            changes.append(
                Change(f"profiles[{label}]", None, {"source": key[0], "accountId": key[1] or None})
            )
        else:
            prof.modified_at, prof.modified_by = now, actor
            writes.touched_profiles.append(key)
        for pair in removed:
            prof.identifiers.remove(pair)
            writes.removed_identifiers.append((key, *pair))
            changes.append(Change(_path(label, pair), _identifier(pair), None))
        for pair in added:
            prof.identifiers.append(pair)
            writes.new_identifiers.append((key, *pair))
            changes.append(Change(_path(label, pair), None, _identifier(pair)))
        writes.new_owners = [p for p in added if not customer.holds(*p)]
        writes.released_owners = [p for p in removed if not after.holds(*p)]
        if not any(p.identifiers for p in after.profiles.values()):
            problems.error(
                errors.LAST_IDENTIFIER,
                "the customer would be left with no identifier; add one in the same request",
                "remove",
            )
    if problems.errors:
        return Plan(customer.clone(), [], problems.warnings, problems.errors, [], Writes())
    if changes:
        after.version += 1
        after.modified_at = now
    return Plan(after, changes, problems.warnings, problems.errors, [], writes)


def _path(label: str, pair: Pair) -> str:
    """`profiles[INSTORE].identifiers[mobile:919999000001]`: one identifier of one profile."""
    return f"profiles[{label}].identifiers[{pair[0]}:{pair[1]}]"


def _taken(
    customer_id: int,
    key: ProfileKey,
    label: str,
    pair: Pair,
    found: Sequence[Holder],
    path: str,
    problems: Problems,
) -> bool:
    """Rule 4 for an added identifier: 8008 held by another customer here, 8053 elsewhere."""
    others = [h for h in found if h.customer_id != customer_id]
    if not others:
        return False
    here = [h for h in others if (h.source, h.account_id) == key]
    if here:
        problems.error(
            errors.IDENTIFIER_TAKEN,
            f"{pair[0]} {pair[1]} is held by another customer in {label}",
            f"{path}.value",
        )
    else:
        elsewhere = profile_label((others[0].source, others[0].account_id))
        problems.error(
            errors.IDENTIFIER_TAKEN_OTHER_SOURCE,
            f"{pair[0]} {pair[1]} is held by another customer in {elsewhere}",
            f"{path}.value",
        )
    return True
