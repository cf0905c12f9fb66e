"""`patron export`: every customer of an org as a JSON Lines registration body `import` accepts.

Customers are read whole, a page at a time in id order (keyset paging, so memory stays
constant and a page costs one statement), and each is written as the `POST /v2/customers` body
that registers the same customer: profiles with identifiers, channels (with `primary`,
`verified`, `meta`) and custom fields, extended fields, loyalty type and enrolments with tier
and tier expiry. An enrolment's points balance (unexpired credits) is written as
`loyaltyPoints`, credited once when the line registers the customer; importing the file into
an org that already holds those customers refuses every line (8008), so points are never
credited twice. Ids, history and attribution are not carried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from patron.customers import repository
from patron.customers.model import Customer, Profile
from patron.db.driver import Database
from patron.orgs.model import OrgId

PAGE_SIZE = 500


def _profile(p: Profile) -> dict[str, Any]:
    entry: dict[str, Any] = {"source": p.source}
    if p.account_id:
        entry["accountId"] = p.account_id
    if p.first_name is not None:
        entry["firstName"] = p.first_name
    if p.last_name is not None:
        entry["lastName"] = p.last_name
    entry["identifiers"] = [{"type": t, "value": v} for t, v in p.identifiers]
    if p.channels:
        entry["commChannels"] = [
            {
                "type": ch.type,
                "value": ch.value,
                "primary": ch.primary,
                "verified": ch.verified,
                "meta": ch.meta,
            }
            for ch in p.channels
        ]
    if p.fields:
        entry["fields"] = p.fields
    return entry


def registration_body(c: Customer) -> dict[str, Any]:
    """The registration body that recreates `c` (without its id, history or attribution)."""
    body: dict[str, Any] = {
        "profiles": [_profile(p) for p in c.profiles.values()],
        "loyaltyType": c.loyalty_type,
    }
    if c.extended_fields:
        body["extendedFields"] = c.extended_fields
    enrolments = []
    for e in sorted(c.enrolments.values(), key=lambda e: e.program_id):
        item: dict[str, Any] = {"programId": e.program_id, "tierNumber": e.tier_number}
        if e.tier_expiry_date is not None:
            item["tierExpiryDate"] = e.tier_expiry_date
        if e.points:
            item["loyaltyPoints"] = e.points
        enrolments.append(item)
    if enrolments:
        body["loyaltyProgramEnrollments"] = enrolments
    return body


async def customers(
    db: Database, org_id: OrgId, *, page_size: int = PAGE_SIZE
) -> AsyncIterator[Customer]:
    """Every customer of the org in id order, one short read transaction per page."""
    after = 0
    while True:
        async with db.transaction(write=False) as conn:
            page = await repository.load_page(
                conn, org_id, after_id=after, limit=page_size, now=datetime.now(UTC)
            )
        for customer in page:
            yield customer
        if len(page) < page_size:
            return
        after = page[-1].id


async def export(db: Database, org_id: OrgId, out: IO[bytes]) -> int:
    """Write every customer of the org to `out` as JSON Lines; returns how many."""
    count = 0
    async for customer in customers(db, org_id):
        out.write(orjson.dumps(registration_body(customer)) + b"\n")
        count += 1
    return count
