"""A console edit as an update: the form's body read like an API body, then the one update path.

The body goes through `parse_model` (the API's body reader: NUL characters, JSON types, lengths,
with field paths) and then `customers.service.update`, by id, with If-Match on the version the
form was rendered from, attributed to the console user.
"""

from __future__ import annotations

import orjson

from patron.api.body import parse_model
from patron.console.forms import EditForm, update_body
from patron.console.signin import SignedIn
from patron.customers import service
from patron.customers.idempotency import StoredResponse
from patron.customers.schemas import CustomerUpdateIn, to_request
from patron.db.driver import Database


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
    if_match = service.IfMatch(frozenset({str(form.version)} if form.version is not None else ()))
    result = await service.update(
        db,
        user.config,
        user.principal,
        service.Target(default_key=form.key, customer_id=customer_id),
        to_request(body),
        request_id=request_id,
        dry_run=dry_run,
        if_match=if_match,
    )
    # Only an Idempotency-Key replays a stored response, and the console sends none.
    assert not isinstance(result, StoredResponse)
    return result
