"""The invariant checker sees each kind of partial write (so a fault test that passes means
something)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest

from tests.integrity.invariants import Stored, integrity_problems


def _whole() -> Stored:
    """One customer written twice: registered with 5 points, then an extended field set."""
    enrol: list[dict[str, Any]] = [
        {"path": "loyaltyProgramEnrollments[1]", "old": None, "new": {"programId": 1}},
        {"path": "loyaltyProgramEnrollments[1].loyaltyPoints", "old": 0, "new": 5},
    ]
    field: list[dict[str, Any]] = [{"path": "extendedFields.f0", "old": None, "new": "a"}]
    return Stored(
        versions={7: 2},
        extended={7: {"f0": "a"}},
        history=defaultdict(dict, {7: {1: ("r1", enrol), 2: ("r2", field)}}),
        ledger=[(7, 1, 1, 5, "r1")],
        enrolments={(7, 1)},
        profiles=Counter({7: 1}),
        identifiers={("mobile", "919999000700"): 7},
        owners={("mobile", "919999000700"): 7},
    )


@pytest.mark.parametrize(
    "damage",
    [
        "history entry missing",
        "ledger row missing",
        "ledger without history",
        "field not in history",
        "enrolment missing",
        "identifier missing",
        "owner missing",
        "owner left behind",
    ],
)
def test_the_integrity_checker_sees_each_kind_of_partial_write(damage: str) -> None:
    assert integrity_problems(_whole()) == []
    stored = _whole()
    if damage == "history entry missing":
        del stored.history[7][2]
    elif damage == "ledger row missing":
        stored.ledger.clear()
    elif damage == "ledger without history":
        stored.ledger.append((7, 2, 1, 3, "r2"))
    elif damage == "field not in history":
        stored.extended[7]["f0"] = "b"
    elif damage == "enrolment missing":
        stored.enrolments.clear()
    elif damage == "identifier missing":
        stored.identifiers.clear()
    elif damage == "owner missing":
        stored.owners.clear()
    else:
        stored.owners[("email", "gone@example.com")] = 7
    assert integrity_problems(stored) != []
