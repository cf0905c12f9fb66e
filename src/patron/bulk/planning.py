"""Planning the registration lines of a batch, one after the other, as sequential API calls would.

Pure: no I/O. A registration is planned (`planner.plan`, the API's function) against the stored
holders of its identifiers plus the identifiers claimed by earlier lines of the batch, so two
lines claiming one identifier end as two sequential API calls would: the first wins, the second
gets 8008 or 8053. The import plans here whether it runs in one process or hands its lines to
preparing processes (`patron.bulk.workers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from patron.bulk.consent_line import with_consent
from patron.bulk.ledger import with_ledger
from patron.bulk.lines import Prepared
from patron.customers.model import Actor, Holder
from patron.customers.planner import Plan, plan
from patron.errors import Problems
from patron.orgs.model import OrgConfig

ACTOR = Actor("import", "IMPORT")
"""Who history entries and events of imported lines name (`by`: code `import`, type `IMPORT`)."""

Holders = Mapping[tuple[str, str], Sequence[Holder]]
Claims = dict[tuple[str, str], list[Holder]]
"""Identifiers claimed by earlier lines of a batch, which the stored holders cannot know about."""


def request_id(import_id: str, line: int) -> str:
    """The request id of an imported line: `import:<import id>:<line>` (at most 50 characters)."""
    return f"import:{import_id}:{line}"


def plan_registration(
    item: Prepared, config: OrgConfig, *, stored: Holders, claimed: Claims, now: datetime
) -> Plan:
    """Plan a registration line, with its points ledger and consent states (an export line);
    when it has no errors, its identifiers become claimed.

    The line's own problems are copied, so the same line can be planned again against other
    holders (the preparing processes plan before the stored holders are known).
    """
    pairs = item.pairs()
    holders = {
        pair: [*stored.get(pair, ()), *claimed.get(pair, ())]
        for pair in pairs
        if pair in stored or pair in claimed
    }
    problems = Problems(list(item.problems.errors), list(item.problems.warnings))
    p = plan(None, item.resolved, problems, config, holders=holders, now=now, actor=ACTOR)
    if item.credits:
        with_ledger(p, item.credits, Problems(p.errors, p.warnings))
    if item.consent is not None:
        with_consent(p, item.consent, Problems(p.errors, p.warnings), config, now)
    if not p.errors:
        claim(claimed, p, -item.number)
    return p


def claim(claimed: Claims, p: Plan, customer_id: int) -> None:
    """Record the identifiers a plan adds as held by `customer_id`.

    A registration not yet stored has no id: a negative one (minus its line number) stands for
    "another customer" until it is.
    """
    for key, type_, value in p.writes.new_identifiers:
        claimed.setdefault((type_, value), []).append(Holder(*key, customer_id))
