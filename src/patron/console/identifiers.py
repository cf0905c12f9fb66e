"""A console identifier replacement: one mobile or e-mail swapped through changeIdentifier.

The old value is removed and the new one added in one request of `customers.service.
change_identifiers` (SPEC 10.1), the API's own path: atomically, with If-Match on the version the
page showed, attributed to the console user; the old value is free for another customer as soon
as it commits.
"""

from __future__ import annotations

import orjson

from patron.conditions import IfMatch, StoredResponse
from patron.console.signin import SignedIn
from patron.customers import service
from patron.customers.model import ProfileKey
from patron.customers.render import write_answer
from patron.customers.schemas import IdentifierChangeIn, to_identifier_change
from patron.customers.store import Target
from patron.db.driver import Database
from patron.wire import parse_model

REPLACEABLE = ("mobile", "email")
"""The identifier types the console replaces (what customers ask care agents to change)."""


def _answer(result: service.WriteResult) -> StoredResponse:
    # Kept only with an Idempotency-Key, which the console never sends; the API's own answer.
    return write_answer(result.customer_id, result.version, result.plan, dry_run=result.dry_run)


async def replace(
    db: Database,
    user: SignedIn,
    customer_id: int,
    key: ProfileKey,
    *,
    id_type: str,
    old: str,
    new: str,
    version: int | None,
    request_id: str,
    dry_run: bool,
) -> service.WriteResult:
    """Preview (`dry_run`) or replace identifier `old` of profile `key` with `new`; ApiError if refused."""
    body = {"remove": [{"type": id_type, "value": old}], "add": [{"type": id_type, "value": new}]}
    request = to_identifier_change(parse_model(IdentifierChangeIn, orjson.dumps(body)))
    result = await service.change_identifiers(
        db,
        user.config,
        user.principal,
        Target(default_key=key, customer_id=customer_id),
        request,
        request_id=request_id,
        dry_run=dry_run,
        if_match=IfMatch(frozenset({str(version)} if version is not None else ())),
        answer=_answer,
    )
    assert not isinstance(result, StoredResponse)
    return result
