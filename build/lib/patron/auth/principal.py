"""Who is calling: the org and till a credential proved."""

from __future__ import annotations

from dataclasses import dataclass

from patron.orgs.model import OrgId


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller; every change it makes is attributed to its till."""

    org_id: OrgId
    till_code: str
    actor_type: str = "TILL"
