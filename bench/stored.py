"""The rows a loaded customer is stored as, exactly as patron stores its registration.

`append_customer(batch, n, id, now)` adds customer n's rows to every customer table: what patron
writes after `POST /v2/customers` with `dataset.registration_body(n)` by the org's till,
including the version-1 history entry (`history_changes`). `bench.verify` registers twins
through the API and compares their rows with these, column for column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench.dataset import (
    CITIES,
    COLOURS,
    GENDERS,
    PROGRAM_ID,
    WECHAT_ACCOUNT,
    custom_fields,
    email,
    enrolled,
    extended_fields,
    external_id,
    first_name,
    has_wechat,
    instore_channels,
    last_name,
    mobile,
    org_code,
    org_index,
    points,
    tier,
    till_code,
    wechat_id,
)
from patron.customers import profiles_doc
from patron.customers.model import Actor, Channel, Profile
from patron.db.tables import CUSTOMER_ROW_TABLES, column_names

CUSTOMER_TABLES = CUSTOMER_ROW_TABLES
"""Every table a customer has rows in, in the order they are loaded (parents first)."""

COLUMNS: dict[str, tuple[str, ...]] = {table: column_names(table) for table in CUSTOMER_TABLES}
"""The columns the loaders fill, per table; `bench.verify` checks they are all the table has."""

VOLATILE_COLUMNS = frozenset(
    {"created_at", "modified_at", "enrolled_at", "credited_at", "at", "request_id"}
)
"""Columns whose value depends on when and by which request a row was written."""


def history_changes(n: int) -> list[dict[str, Any]]:
    """The changes of the registration's history entry (version 1), in the planner's order."""
    changes: list[dict[str, Any]] = []

    def change(path: str, old: Any, new: Any) -> None:
        changes.append({"path": path, "old": old, "new": new})

    change("loyaltyType", None, "loyalty" if enrolled(n) else "non_loyalty")
    change("profiles[INSTORE]", None, {"source": "INSTORE", "accountId": None})
    change("profiles[INSTORE].firstName", None, first_name(n))
    change("profiles[INSTORE].lastName", None, last_name(n))
    for type_, value in (("mobile", mobile(n)), ("email", email(n)), ("externalId", external_id(n))):  # fmt: skip
        change("profiles[INSTORE].identifiers", None, {"type": type_, "value": value})
    for ch in instore_channels(n):
        change(f"profiles[INSTORE].commChannels[{ch['type']}:{ch['value']}]", None, ch)
    for name, value in custom_fields(n).items():
        change(f"profiles[INSTORE].fields.{name}", None, value)
    if has_wechat(n):
        label = f"WECHAT/{WECHAT_ACCOUNT}"
        change(f"profiles[{label}]", None, {"source": "WECHAT", "accountId": WECHAT_ACCOUNT})
        change(f"profiles[{label}].firstName", None, first_name(n))
        change(f"profiles[{label}].lastName", None, last_name(n))
        change(f"profiles[{label}].identifiers", None, {"type": "wechat", "value": wechat_id(n)})
    for name, value in extended_fields(n).items():
        change(f"extendedFields.{name}", None, value)
    if enrolled(n):
        change(
            f"loyaltyProgramEnrollments[{PROGRAM_ID}]",
            None,
            {"programId": PROGRAM_ID, "tierNumber": tier(n), "tierExpiryDate": None},
        )
        change(f"loyaltyProgramEnrollments[{PROGRAM_ID}].loyaltyPoints", 0, points(n))
    return changes


def history_json(n: int) -> str:
    """`history_changes(n)` as compact JSON, built from a template: the loaders' fast path.

    It must equal `orjson.dumps(history_changes(n))`; `bench.verify` checks it does.
    """
    m, e, x, f, last = mobile(n), email(n), external_id(n), first_name(n), last_name(n)
    loyalty = "loyalty" if enrolled(n) else "non_loyalty"
    colour = COLOURS[n % len(COLOURS)]
    p = "profiles[INSTORE]"
    out = [
        f'[{{"path":"loyaltyType","old":null,"new":"{loyalty}"}},'
        f'{{"path":"{p}","old":null,"new":{{"source":"INSTORE","accountId":null}}}},'
        f'{{"path":"{p}.firstName","old":null,"new":"{f}"}},'
        f'{{"path":"{p}.lastName","old":null,"new":"{last}"}},'
        f'{{"path":"{p}.identifiers","old":null,"new":{{"type":"mobile","value":"{m}"}}}},'
        f'{{"path":"{p}.identifiers","old":null,"new":{{"type":"email","value":"{e}"}}}},'
        f'{{"path":"{p}.identifiers","old":null,"new":{{"type":"externalId","value":"{x}"}}}},'
        f'{{"path":"{p}.commChannels[mobile:{m}]","old":null,"new":{{"type":"mobile","value":"{m}",'
        f'"primary":true,"verified":true,"meta":{{}}}}}},'
        f'{{"path":"{p}.commChannels[email:{e}]","old":null,"new":{{"type":"email","value":"{e}",'
        f'"primary":true,"verified":false,"meta":{{}}}}}},'
        f'{{"path":"{p}.fields.favourite_colour","old":null,"new":"{colour}"}},'
    ]
    if has_wechat(n):
        w = f"profiles[WECHAT/{WECHAT_ACCOUNT}]"
        out.append(
            f'{{"path":"{w}","old":null,"new":{{"source":"WECHAT","accountId":"{WECHAT_ACCOUNT}"}}}},'
            f'{{"path":"{w}.firstName","old":null,"new":"{f}"}},'
            f'{{"path":"{w}.lastName","old":null,"new":"{last}"}},'
            f'{{"path":"{w}.identifiers","old":null,"new":{{"type":"wechat","value":"{wechat_id(n)}"}}}},'
        )
    out.append(
        f'{{"path":"extendedFields.city","old":null,"new":"{CITIES[n % len(CITIES)]}"}},'
        f'{{"path":"extendedFields.gender","old":null,"new":"{GENDERS[n % len(GENDERS)]}"}}'
    )
    if enrolled(n):
        e_path = f"loyaltyProgramEnrollments[{PROGRAM_ID}]"
        out.append(
            f',{{"path":"{e_path}","old":null,"new":{{"programId":{PROGRAM_ID},'
            f'"tierNumber":{tier(n)},"tierExpiryDate":null}}}},'
            f'{{"path":"{e_path}.loyaltyPoints","old":0,"new":{points(n)}}}'
        )
    out.append("]")
    return "".join(out)


class Json(str):
    """JSON text already encoded: the loaders store it as it is instead of encoding a value."""

    __slots__ = ()


@dataclass(slots=True)
class Batch:
    """Rows of many customers, per table, as tuples in `COLUMNS` order."""

    rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {t: [] for t in CUSTOMER_TABLES}
    )

    def count(self) -> int:
        """How many rows the batch holds, over every table."""
        return sum(len(r) for r in self.rows.values())


def request_id(n: int) -> str:
    """The request id of customer n's registration: 32 hex digits, like patron's own."""
    return f"{n:032x}"


def append_customer(batch: Batch, n: int, customer_id: int, now: datetime) -> None:
    """Append customer n's rows (stored with id `customer_id`, registered at `now`)."""
    org = org_code(org_index(n))
    till = till_code(org)
    rows = batch.rows
    loyalty = "loyalty" if enrolled(n) else "non_loyalty"
    first, last = first_name(n), last_name(n)
    actor = Actor(till)
    profiles = [
        Profile(
            "INSTORE",
            "",
            first,
            last,
            custom_fields(n),
            channels=[
                Channel("mobile", mobile(n), True, True),
                Channel("email", email(n), True, False),
            ],
            created_at=now,
            created_by=actor,
            modified_at=now,
            modified_by=actor,
        )
    ]
    if has_wechat(n):
        profiles.append(
            Profile(
                "WECHAT",
                WECHAT_ACCOUNT,
                first,
                last,
                created_at=now,
                created_by=actor,
                modified_at=now,
                modified_by=actor,
            )
        )
    rows["customers"].append(
        (
            org,
            customer_id,
            1,
            loyalty,
            extended_fields(n),
            now,
            now,
            [profiles_doc.entry(p) for p in profiles],
        )
    )
    owners = rows["identifier_owners"]
    owners.append((org, "mobile", mobile(n), customer_id))
    owners.append((org, "email", email(n), customer_id))
    owners.append((org, "externalId", external_id(n), customer_id))
    ids = rows["identifiers"]
    ids.append((org, "INSTORE", "", "mobile", mobile(n), customer_id, 0))
    ids.append((org, "INSTORE", "", "email", email(n), customer_id, 1))
    ids.append((org, "INSTORE", "", "externalId", external_id(n), customer_id, 2))
    if has_wechat(n):
        owners.append((org, "wechat", wechat_id(n), customer_id))
        ids.append((org, "WECHAT", WECHAT_ACCOUNT, "wechat", wechat_id(n), customer_id, 0))
    rid = request_id(n)
    if enrolled(n):
        rows["enrolments"].append((org, customer_id, PROGRAM_ID, tier(n), None, now))
        rows["points_ledger"].append(
            (org, customer_id, 1, PROGRAM_ID, points(n), None, now, rid, 0)
        )
    rows["customer_history"].append(
        (org, customer_id, 1, now, rid, till, "TILL", Json(history_json(n)), None)
    )
