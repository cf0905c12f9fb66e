"""The one transaction skeleton of every customer write (register, update, changeIdentifier,
consent).

A run resolves the request (pure, outside the transaction), opens a write transaction, claims
the Idempotency-Key unless it is a dry run (a key already answered replays that answer), makes
the write, and keeps the answer for the key in the same transaction. A run that loses a race for
an identifier is run once more; a second loss is a 409, never a 500. A checked write (an update
or identifier change without a key) first runs without the transaction, and runs again in one
if its customer changed between its read and its write (`CustomerChanged`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from patron import errors
from patron.conditions import IdempotencyKey, StoredResponse
from patron.customers import idempotency
from patron.db.driver import Connection, CustomerChanged, Database, UniqueViolation
from patron.errors import ApiError, Problem, Problems
from patron.orgs.model import OrgConfig

R = TypeVar("R")

ATTEMPTS = 2
"""A write that lost a race for an identifier is run once more: the second run reads the
winner's committed rows, so it is answered exactly as a request arriving after it would be."""


def lost_race(exc: UniqueViolation) -> bool:
    """Whether a unique-key violation is a concurrent writer taking one of our identifiers."""
    return exc.table in ("identifiers", "identifier_owners")


def identifier_taken(exc: UniqueViolation, problems: Problems) -> ApiError:
    """The answer to losing a race for an identifier (409: 8008 in the same source/account,
    8053 in another); re-raises any other violation."""
    # Only reached when even a re-run lost (writers keep taking and freeing the value): the
    # key that refused the row says which rule it was.
    if exc.table == "identifiers":
        entry = errors.IDENTIFIER_TAKEN
    elif exc.table == "identifier_owners":
        entry = errors.IDENTIFIER_TAKEN_OTHER_SOURCE
    else:
        raise exc
    message = "an identifier of the request was just taken by another customer"
    return ApiError([Problem(entry, message)], problems.warnings)


@dataclass(frozen=True)
class Attempt(Generic[R]):
    """One run of a write: the request's problems as resolved, and the write to make with them."""

    problems: Problems
    write: Callable[[Connection], Awaitable[R]]


async def run_write(
    db: Database,
    config: OrgConfig,
    retry: IdempotencyKey | None,
    dry_run: bool,
    answer: Callable[[R], StoredResponse],
    attempt: Callable[[datetime], Attempt[R]],
    *,
    checked: bool = False,
) -> R | StoredResponse:
    """Run `attempt`'s write atomically, once per Idempotency-Key, retrying a lost race.

    `checked`: the write reads one customer and stores it with one self-checking statement
    (`Database.statements`), so a request without an Idempotency-Key that stores something is
    first run without a transaction; if the customer changed in between, nothing was written,
    and it runs again in a transaction holding the customer's lock.
    """
    run = 1
    unlocked = checked and retry is None and not dry_run
    while True:
        now = idempotency.utcnow()
        # Resolved afresh for each run: planning adds its findings to the problems.
        prepared = attempt(now)
        unit = db.statements() if unlocked else db.transaction(write=True)
        try:
            async with unit as conn:
                if retry is not None and not dry_run:
                    replay = await idempotency.claim(conn, config.org_id, retry, now)
                    if replay is not None:
                        return replay
                result = await prepared.write(conn)
                if retry is not None and not dry_run:
                    # Even a write that changed nothing is recorded: its retry must replay it.
                    await idempotency.record(conn, config.org_id, retry, answer(result))
            return result
        except CustomerChanged:
            if not unlocked:
                raise
            unlocked = False
        except UniqueViolation as exc:
            if run == ATTEMPTS or not lost_race(exc):
                raise identifier_taken(exc, prepared.problems) from None
            run += 1
