"""The invariant checker of the fault tests: what a partial write would leave behind.

`load_stored` reads an org's customer data in one transaction; `integrity_problems` lists every
sign of a write applied in part (a history entry without its version, points without their
history, a field the history does not explain, ...). Empty means the data is whole.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from patron.db.driver import Connection


@dataclass
class Stored:
    """The org's customer data as stored, read in one transaction."""

    versions: dict[int, int]
    extended: dict[int, dict[str, Any]]
    history: dict[int, dict[int, tuple[str, list[dict[str, Any]]]]]
    ledger: list[tuple[int, int, int, int, str]]
    enrolments: set[tuple[int, int]]
    profiles: Counter[int]
    identifiers: dict[tuple[str, str], int]
    owners: dict[tuple[str, str], int] = field(default_factory=dict)
    """`identifier_owners`: the customer each (type, value) belongs to."""


async def load_stored(conn: Connection, org_id: str) -> Stored:
    """Every customer-data row of `org_id`."""
    customers = await conn.fetch(
        "SELECT id, version, extended_fields FROM customers WHERE org_id = $1", org_id
    )
    history: dict[int, dict[int, tuple[str, list[dict[str, Any]]]]] = defaultdict(dict)
    for row in await conn.fetch(
        "SELECT customer_id, version, request_id, changes FROM customer_history WHERE org_id = $1",
        org_id,
    ):
        history[row["customer_id"]][row["version"]] = (row["request_id"], row["changes"])
    ledger = [
        (r["customer_id"], r["version"], r["program_id"], r["points"], r["request_id"])
        for r in await conn.fetch(
            "SELECT customer_id, version, program_id, points, request_id FROM points_ledger"
            " WHERE org_id = $1",
            org_id,
        )
    ]
    enrolments = {
        (r["customer_id"], r["program_id"])
        for r in await conn.fetch(
            "SELECT customer_id, program_id FROM enrolments WHERE org_id = $1", org_id
        )
    }
    profiles = Counter(
        {
            int(r["id"]): len(_json(r["profiles"]))
            for r in await conn.fetch(
                "SELECT id, profiles FROM customers WHERE org_id = $1", org_id
            )
        }
    )
    identifiers = {
        (r["type"], r["value"]): r["customer_id"]
        for r in await conn.fetch(
            "SELECT type, value, customer_id FROM identifiers WHERE org_id = $1", org_id
        )
    }
    owners = {
        (r["type"], r["value"]): r["customer_id"]
        for r in await conn.fetch(
            "SELECT type, value, customer_id FROM identifier_owners WHERE org_id = $1", org_id
        )
    }
    return Stored(
        versions={r["id"]: r["version"] for r in customers},
        extended={r["id"]: r["extended_fields"] for r in customers},
        history=history,
        ledger=ledger,
        enrolments=enrolments,
        profiles=profiles,
        identifiers=identifiers,
        owners=owners,
    )


def latest_change(stored: Stored, customer_id: int, path: str) -> dict[str, Any] | None:
    """The newest history change of `path` on a customer."""
    for version in sorted(stored.history[customer_id], reverse=True):
        for change in stored.history[customer_id][version][1]:
            if change["path"] == path:
                return change
    return None


def integrity_problems(stored: Stored) -> list[str]:
    """Everything that would show a partial write; empty when the data is whole."""
    problems = []
    for cid, version in stored.versions.items():
        # One history entry per applied write, in order, with nothing missing or extra.
        if sorted(stored.history[cid]) != list(range(1, version + 1)):
            problems.append(
                f"customer {cid}: version {version}, history {sorted(stored.history[cid])}"
            )
        if not stored.profiles[cid] or cid not in stored.identifiers.values():
            problems.append(f"customer {cid} has no profile or no identifier")
        # The stored extended fields are what the history says was last written.
        for key, value in stored.extended[cid].items():
            change = latest_change(stored, cid, f"extendedFields.{key}")
            if change is None or change["new"] != value:
                problems.append(f"customer {cid}: {key}={value!r} but history says {change}")
    # Every stored value is owned by its holder, and every owner row has a value behind it.
    for pair, cid in stored.identifiers.items():
        if stored.owners.get(pair) != cid:
            problems.append(f"{pair} held by customer {cid}, owned by {stored.owners.get(pair)}")
    for pair in set(stored.owners) - set(stored.identifiers):
        problems.append(f"{pair} owned by customer {stored.owners[pair]}, held by nobody")
    for cid in set(stored.history) - set(stored.versions):
        problems.append(f"history of customer {cid}, who does not exist")
    credited: Counter[tuple[int, int]] = Counter()
    for cid, version, program, points, request_id in stored.ledger:
        credited[(cid, program)] += points
        if (cid, program) not in stored.enrolments:
            problems.append(f"points of customer {cid} in program {program} without an enrolment")
        entry = stored.history[cid].get(version)
        if entry is None or entry[0] != request_id:
            problems.append(f"points of customer {cid} v{version} without their history entry")
            continue
        path = f"loyaltyProgramEnrollments[{program}].loyaltyPoints"
        change = next((c for c in entry[1] if c["path"] == path), None)
        if change is None or change["new"] - (change["old"] or 0) != points:
            problems.append(f"points of customer {cid} v{version}: {points}, history {change}")
    for cid, program in stored.enrolments:
        if cid not in stored.versions:
            problems.append(f"enrolment of customer {cid}, who does not exist")
            continue
        change = latest_change(stored, cid, f"loyaltyProgramEnrollments[{program}].loyaltyPoints")
        total = change["new"] if change is not None else 0
        if credited[(cid, program)] != total:
            problems.append(
                f"customer {cid} program {program}: ledger {credited[(cid, program)]}, history {total}"
            )
    return problems


def _json(value: Any) -> Any:
    """A JSON column's value: SQLite hands back text, asyncpg the decoded value."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value
