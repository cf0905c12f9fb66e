"""Planning an update: (stored customer, resolved request, org config) -> changes and writes.

This is the one place that decides what an update means (SPEC section 6). It never does I/O:
the service loads and locks the customer, resolves the request, asks for the plan, and, when the
plan holds no error, hands its `Writes` to the repository and its `changes` to the history. A dry
run returns the same plan unapplied, so dry run, real run and history cannot disagree.
Registration is planning an update of an empty customer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from patron import errors
from patron.customers.model import (
    Actor,
    Channel,
    Customer,
    Enrolment,
    Holder,
    Profile,
    ProfileKey,
    profile_label,
)
from patron.customers.requests import UNSET
from patron.customers.resolve import RChannel, REnrolment, Resolved, RProfile
from patron.errors import Problem, Problems
from patron.orgs.model import OrgConfig


class Change(NamedTuple):
    """One changed path with its old and new value (None: absent)."""

    # A named tuple, not a frozen dataclass: as immutable, and built in half the time (a write
    # makes one per changed path, a registration a dozen).
    path: str
    old: Any
    new: Any

    def to_wire(self) -> dict[str, Any]:
        """`{"path", "old", "new"}`."""
        return {"path": self.path, "old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True)
class Credit:
    """Points to add to the ledger."""

    program_id: int
    points: int
    expires_at: datetime | None


@dataclass(slots=True)
class Writes:
    """What the repository must store to make the stored customer equal `Plan.customer`."""

    new_profiles: list[ProfileKey] = field(default_factory=list)
    touched_profiles: list[ProfileKey] = field(default_factory=list)
    """Profiles whose names, fields, identifiers or channels changed. Profiles are stored whole
    in the customer's row, so these say whether that list is written, not which rows."""
    removed_identifiers: list[tuple[ProfileKey, str, str]] = field(default_factory=list)
    new_identifiers: list[tuple[ProfileKey, str, str]] = field(default_factory=list)
    new_owners: list[tuple[str, str]] = field(default_factory=list)
    """(type, value) pairs the customer holds after the plan and held in no profile before."""
    released_owners: list[tuple[str, str]] = field(default_factory=list)
    """(type, value) pairs the customer held before the plan and holds in no profile after."""
    new_enrolments: list[Enrolment] = field(default_factory=list)
    credits: list[Credit] = field(default_factory=list)
    subscriptions: list[tuple[str, str, str]] = field(default_factory=list)
    """Consent states to store: (channel, priority, OPTIN/OPTOUT)."""


@dataclass(slots=True)
class Plan:
    """The outcome of planning: the customer after, what changed, and what to report."""

    customer: Customer
    changes: list[Change]
    warnings: list[Problem]
    errors: list[Problem]
    side_effects: list[dict[str, Any]]
    writes: Writes
    context: dict[str, Any] | None = None
    """Why and where the change was made, beyond who and when (a consent change's provenance);
    the history entry and the change event carry it."""

    @property
    def changed(self) -> bool:
        """Whether applying the plan would change anything."""
        return bool(self.changes)


def empty_customer(now: datetime) -> Customer:
    """The starting point of a registration: nobody, with nothing."""
    return Customer(id=0, version=0, loyalty_type="non_loyalty", created_at=now, modified_at=now)


def plan(
    customer: Customer | None,
    resolved: Resolved,
    problems: Problems,
    config: OrgConfig,
    *,
    holders: Mapping[tuple[str, str], Sequence[Holder]],
    now: datetime,
    actor: Actor,
) -> Plan:
    """Plan `resolved` against `customer` (None: a registration). Pure."""
    registering = customer is None
    after = empty_customer(now) if customer is None else customer.clone()
    p = _Planner(after, config, problems, holders, now, actor, registering)
    p.loyalty(resolved)
    for profile in resolved.profiles:
        p.profile(profile)
    p.extended_fields(resolved.extended_fields)
    p.enrolments(resolved)
    if p.changes:
        after.version += 1
        after.modified_at = now
    return Plan(after, p.changes, problems.warnings, problems.errors, p.side_effects, p.writes)


def _same(a: Any, b: Any) -> bool:
    # 1 == True in Python, so a value stays the same only with its type; but numbers compare by
    # value, since PostgreSQL's JSONB gives 1e16 back as an integer.
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return a == b
    return type(a) is type(b) and a == b


class _Planner:
    def __init__(
        self,
        customer: Customer,
        config: OrgConfig,
        problems: Problems,
        holders: Mapping[tuple[str, str], Sequence[Holder]],
        now: datetime,
        actor: Actor,
        registering: bool,
    ) -> None:
        self.c = customer
        self.config = config
        self.problems = problems
        self.holders = holders
        self.now = now
        self.actor = actor
        self.registering = registering
        self.changes: list[Change] = []
        self.side_effects: list[dict[str, Any]] = []
        self.writes = Writes()
        self.became_loyalty = False

    def change(self, path: str, old: Any, new: Any) -> None:
        self.changes.append(Change(path, old, new))

    # rule 1, and the loyalty half of rule 8
    def loyalty(self, resolved: Resolved) -> None:
        current = None if self.registering else self.c.loyalty_type
        target = resolved.loyalty_type
        if target == "non_loyalty" and resolved.enrolments:
            self.problems.error(
                errors.LOYALTY_TYPE_CONFLICT,
                "a request that enrols the customer cannot make them non_loyalty",
                resolved.loyalty_type_field,
            )
            return
        if current == "loyalty" and target == "non_loyalty":
            self.problems.error(
                errors.LOYALTY_DOWNGRADE,
                "a loyalty customer cannot be made non_loyalty",
                resolved.loyalty_type_field,
            )
            return
        new = "loyalty" if resolved.enrolments else (target or current or "non_loyalty")
        if new != current:
            self.change("loyaltyType", current, new)
            self.c.loyalty_type = new
            self.became_loyalty = new == "loyalty"

    # rules 2-6
    def profile(self, req: RProfile) -> None:
        label = profile_label(req.key)
        prof = self.c.profiles.get(req.key)
        before = len(self.changes)
        if prof is None:
            prof = Profile(
                source=req.key[0],
                account_id=req.key[1],
                created_at=self.now,
                created_by=self.actor,
                modified_at=self.now,
                modified_by=self.actor,
            )
            self.c.profiles[req.key] = prof
            self.writes.new_profiles.append(req.key)
            self.change(
                f"profiles[{label}]", None, {"source": req.key[0], "accountId": req.key[1] or None}
            )
        if req.first_name is not UNSET and req.first_name != prof.first_name:
            self.change(f"profiles[{label}].firstName", prof.first_name, req.first_name)
            prof.first_name = req.first_name
        if req.last_name is not UNSET and req.last_name != prof.last_name:
            self.change(f"profiles[{label}].lastName", prof.last_name, req.last_name)
            prof.last_name = req.last_name
        for ident in req.identifiers:
            self.identifier(prof, label, ident.type, ident.value, ident.field)
        for ch in req.channels:
            self.channel(prof, label, ch)
        self.demote_other_primaries(prof, label, req.channels)
        for name, value in req.fields.items():
            self.set_field(prof.fields, f"profiles[{label}].fields.{name}", name, value)
        if len(self.changes) > before:
            if req.key not in self.writes.new_profiles:
                prof.modified_at, prof.modified_by = self.now, self.actor
            self.writes.touched_profiles.append(req.key)

    def identifier(self, prof: Profile, label: str, type_: str, value: str, path: str) -> None:
        if (type_, value) in prof.identifiers:
            return  # rule 4: already on this profile, nothing changes
        others = [h for h in self.holders.get((type_, value), ()) if h.customer_id != self.c.id]
        here = [h for h in others if (h.source, h.account_id) == prof.key]
        if here:
            self.problems.error(
                errors.IDENTIFIER_TAKEN,
                f"{type_} {value} is held by another customer in {label}",
                f"{path}.value",
            )
            return
        if others:
            self.problems.error(
                errors.IDENTIFIER_TAKEN_OTHER_SOURCE,
                f"{type_} {value} is held by another customer in "
                f"{profile_label((others[0].source, others[0].account_id))}",
                f"{path}.value",
            )
            return
        if not self.c.holds(type_, value):
            self.writes.new_owners.append((type_, value))
        prof.identifiers.append((type_, value))
        self.writes.new_identifiers.append((prof.key, type_, value))
        self.change(f"profiles[{label}].identifiers", None, {"type": type_, "value": value})

    def channel(self, prof: Profile, label: str, req: RChannel) -> None:
        path = f"profiles[{label}].commChannels[{req.type}:{req.value}]"
        existing = prof.channel(req.type, req.value)
        if existing is None:
            meta = {k: v for k, v in (req.meta or {}).items() if v is not None}
            ch = Channel(req.type, req.value, bool(req.primary), bool(req.verified), meta)
            prof.channels.append(ch)
            self.change(path, None, channel_wire(ch))
            return
        if req.primary is not None and req.primary != existing.primary:
            self.change(f"{path}.primary", existing.primary, req.primary)
            existing.primary = req.primary
        if req.verified is not None and req.verified != existing.verified:
            self.change(f"{path}.verified", existing.verified, req.verified)
            existing.verified = req.verified
        for key, value in (req.meta or {}).items():
            self.set_field(existing.meta, f"{path}.meta.{key}", key, value)

    def demote_other_primaries(self, prof: Profile, label: str, reqs: list[RChannel]) -> None:
        """Rule 5: making a channel primary makes the others of its type non-primary."""
        for req in reqs:
            if not req.primary:
                continue
            for ch in prof.channels:
                if ch.type == req.type and ch.value != req.value and ch.primary:
                    self.change(
                        f"profiles[{label}].commChannels[{ch.type}:{ch.value}].primary", True, False
                    )
                    ch.primary = False

    def set_field(self, target: dict[str, Any], path: str, name: str, value: Any) -> None:
        """Merge one key: None removes it, anything else sets it (rules 5, 6, 7)."""
        old = target.get(name)
        if value is None:
            if name in target:
                del target[name]
                self.change(path, old, None)
        elif name not in target or not _same(old, value):
            target[name] = value
            self.change(path, old, value)

    def extended_fields(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self.set_field(self.c.extended_fields, f"extendedFields.{name}", name, value)

    # rule 8
    def enrolments(self, resolved: Resolved) -> None:
        for e in resolved.enrolments:
            if e.program_id in self.c.enrolments:
                self.problems.error(
                    errors.ALREADY_ENROLLED,
                    f"the customer is already enrolled in program {e.program_id}",
                    f"{e.field}.programId",
                )
                continue
            self.enrol(e)
        if self.became_loyalty and not resolved.enrolments and not self.c.enrolments:
            default = self.config.default_program
            if default is None:
                self.problems.warn(
                    errors.NO_DEFAULT_PROGRAM,
                    "the org has no default program to enrol a loyalty customer in",
                    "loyaltyType",
                )
            else:
                self.enrol(REnrolment(default.program_id, 1, None, None, None, "loyaltyType"))

    def enrol(self, e: REnrolment) -> None:
        enrolment = Enrolment(e.program_id, e.tier_number, e.tier_expiry_date, 0)
        self.c.enrolments[e.program_id] = enrolment
        self.writes.new_enrolments.append(enrolment)
        self.change(
            f"loyaltyProgramEnrollments[{e.program_id}]",
            None,
            {
                "programId": e.program_id,
                "tierNumber": e.tier_number,
                "tierExpiryDate": e.tier_expiry_date,
            },
        )
        if e.points:
            enrolment.points = e.points
            self.writes.credits.append(Credit(e.program_id, e.points, e.points_expires_at))
            self.change(f"loyaltyProgramEnrollments[{e.program_id}].loyaltyPoints", 0, e.points)
            self.side_effects.append(
                {"type": "points", "awardedPoints": e.points, "programId": e.program_id}
            )


def channel_wire(ch: Channel) -> dict[str, Any]:
    """A channel as the API shows it."""
    return {
        "type": ch.type,
        "value": ch.value,
        "primary": ch.primary,
        "verified": ch.verified,
        "meta": ch.meta,
    }
