"""A console edit as an update: the form's body read like an API body, then the one update path.

The body goes through `parse_model` (the API's body reader: NUL characters, JSON types, lengths,
with field paths) and then `customers.service.update`, by id, with If-Match on the version the
form was rendered from, attributed to the console user.
"""

from __future__ import annotations

import orjson

from patron.conditions import IfMatch, StoredResponse
from patron.console.forms import EditForm, update_body
from patron.console.signin import SignedIn
from patron.customers import service
from patron.customers.render import write_answer
from patron.customers.schemas import CustomerUpdateIn, to_request
from patron.customers.store import Target
from patron.db.driver import Database
from patron.wire import parse_model


def _answer(result: service.WriteResult) -> StoredResponse:
    # Kept only with an Idempotency-Key, which the console never sends; the API's own answer.
    return write_answer(result.customer_id, result.version, result.plan, dry_run=result.dry_run)


async def apply(
    db: Database,
    user: SignedIn,
    customer_id: int,
    form: EditForm,
    *,
    request_id: str,
    dry_run: bool,
) -> service.WriteResult:
    """Preview (`dry_run`) or save the form's changes to customer `customer_id`; ApiError if refused."""
    body = parse_model(CustomerUpdateIn, orjson.dumps(update_body(form)))
    # A form without a version (tampered with) can match no customer: the save is refused as
    # stale rather than applied unconditionally.
    if_match = IfMatch(frozenset({str(form.version)} if form.version is not None else ()))
    result = await service.update(
        db,
        user.config,
        user.principal,
        Target(default_key=form.key, customer_id=customer_id),
        to_request(body),
        request_id=request_id,
        dry_run=dry_run,
        if_match=if_match,
        answer=_answer,
    )
    # Only an Idempotency-Key replays a stored response, and the console sends none.
    assert not isinstance(result, StoredResponse)
    return result
