"""Idempotency-Key (SPEC rule 13): a retried write is answered with its first response.

How it works (docs/reliability.md tells the whole story):

* The router validates the key (1-255 printable ASCII characters) and fingerprints the request:
  SHA-256 over method, path, canonical query and the raw body bytes.
* Inside the write transaction, before anything else, `claim` inserts the key as *pending*
  (`INSERT ... ON CONFLICT`). On PostgreSQL a concurrent insert of the same key waits on the
  primary key's index until the first transaction commits or rolls back; on SQLite writers are
  serialised by `BEGIN IMMEDIATE`. Either way a duplicate never runs beside the original: it waits,
  then finds the stored response and replays it.
* At the end of the successful transaction `record` stores the response in the row, atomically
  with the customer's changes. A refused request rolls back and leaves no key.
* Keys live 24 hours. An expired row is replaced in place when its key comes back, and
  `purge_periodically` deletes expired rows in bounded batches in the background.

The module is both the rules and the storage of this one sub-capability, so its few SQL
statements live here rather than in `repository.py`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode

from patron import errors
from patron.db.driver import Connection, Database
from patron.errors import ApiError
from patron.orgs.model import OrgId

log = logging.getLogger("patron.idempotency")

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEY_TTL = timedelta(hours=24)

# The background cleanup: every PURGE_EVERY_SECONDS, delete expired rows PURGE_BATCH at a time,
# at most PURGE_MAX_BATCHES per round, each batch in its own short transaction so that no
# request waits long behind it (on SQLite it holds the database's write lock).
PURGE_EVERY_SECONDS = 600.0
PURGE_BATCH = 1000
PURGE_MAX_BATCHES = 20


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A request's key and the fingerprint of what it asks for."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as first sent: status, the exact body bytes, the headers worth repeating."""

    status: int
    body: bytes
    headers: dict[str, str]


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def parse_key(values: list[str]) -> str | None:
    """The Idempotency-Key header's value, None without one; ApiError (400) when malformed."""
    if not values:
        return None
    if len(values) > 1:
        raise ApiError.one(
            errors.INVALID_IDEMPOTENCY_KEY, f"send one {HEADER} header, not {len(values)}", HEADER
        )
    key = values[0]
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ApiError.one(
            errors.INVALID_IDEMPOTENCY_KEY,
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters, not {len(key)}",
            HEADER,
        )
    if not all(" " <= ch <= "~" for ch in key):
        raise ApiError.one(
            errors.INVALID_IDEMPOTENCY_KEY,
            f"{HEADER} must be printable ASCII characters",
            HEADER,
        )
    return key


def canonical_query(query: str) -> str:
    """The query string decoded, sorted by name and encoded one way.

    The sort is stable: a repeated parameter keeps its order, since the last value is the one a
    route reads. Nothing is left out: every parameter may change what the request means.
    """
    pairs = parse_qsl(query, keep_blank_values=True)
    pairs.sort(key=lambda pair: pair[0])
    return urlencode(pairs, quote_via=quote)


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """SHA-256 (hex) of method, path, canonical query and the raw body bytes."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical_query(query).encode(), body):
        # Length-prefixed, so no two different requests can run together into the same bytes.
        digest.update(b"%d:" % len(part))
        digest.update(part)
    return digest.hexdigest()


# The key row is inserted pending; an expired row of the same key is taken over in place
# (its old response is of no use any more). RETURNING yields a row only when this request now
# owns the key: freshly inserted or taken over.
_CLAIM = (
    'INSERT INTO idempotency_keys (org_id, "key", fingerprint, status, response_body,'
    " response_headers, created_at, expires_at) VALUES ($1, $2, $3, NULL, NULL, NULL, $4, $5)"
    ' ON CONFLICT (org_id, "key") DO UPDATE SET fingerprint = excluded.fingerprint,'
    " status = NULL, response_body = NULL, response_headers = NULL,"
    " created_at = excluded.created_at, expires_at = excluded.expires_at"
    " WHERE idempotency_keys.expires_at <= excluded.created_at"
    " RETURNING org_id"
)

_STORED = (
    "SELECT fingerprint, status, response_body, response_headers FROM idempotency_keys"
    ' WHERE org_id = $1 AND "key" = $2'
)


async def claim(
    conn: Connection, org_id: OrgId, key: IdempotencyKey, now: datetime
) -> StoredResponse | None:
    """Take the key for this transaction (None), or the response of its first use to replay.

    Call first in the write transaction. Raises ApiError (409) when the key was used for a
    different request.
    """
    # A row seen as conflicting can vanish before it is read only if the cleanup deleted it in
    # between (it had expired); the next attempt then inserts. Two rounds always settle it.
    for _ in range(3):
        owned = await conn.fetchval(_CLAIM, org_id, key.key, key.fingerprint, now, now + KEY_TTL)
        if owned is not None:
            return None
        row = await conn.fetchrow(_STORED, org_id, key.key)
        if row is None:
            continue
        if row["fingerprint"] != key.fingerprint:
            raise ApiError.one(
                errors.IDEMPOTENCY_KEY_REUSED,
                f"this {HEADER} was already used for a different request "
                "(another method, path, query or body)",
                HEADER,
            )
        if row["status"] is None:
            # A committed row always holds its response (it is stored in the transaction that
            # inserted it), and an uncommitted one is invisible: this cannot happen.
            raise RuntimeError(f"idempotency key of org {org_id} committed without a response")
        body = row["response_body"]
        return StoredResponse(
            status=int(row["status"]),
            body=body.encode() if isinstance(body, str) else bytes(body),
            headers=dict(row["response_headers"] or {}),
        )
    raise RuntimeError(f"idempotency key of org {org_id} neither claimed nor found")


async def record(
    conn: Connection, org_id: OrgId, key: IdempotencyKey, response: StoredResponse
) -> None:
    """Store the response of the request that claimed `key`, in the transaction that claimed it."""
    await conn.execute(
        "UPDATE idempotency_keys SET status = $3, response_body = $4, response_headers = $5"
        ' WHERE org_id = $1 AND "key" = $2',
        org_id,
        key.key,
        response.status,
        response.body.decode(),
        response.headers,
    )


async def delete_expired(conn: Connection, now: datetime, limit: int) -> int:
    """Delete up to `limit` keys expired at `now`; returns how many went."""
    # PostgreSQL: SKIP LOCKED leaves alone a row a request is taking over right now, so the
    # cleanup never waits on a request (and can never be part of a deadlock).
    lock = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
    rows = await conn.fetch(
        'DELETE FROM idempotency_keys WHERE (org_id, "key") IN (SELECT org_id, "key"'
        f" FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2{lock}) RETURNING org_id",
        now,
        limit,
    )
    return len(rows)


async def purge(
    db: Database,
    *,
    now: datetime | None = None,
    batch: int = PURGE_BATCH,
    max_batches: int = PURGE_MAX_BATCHES,
) -> int:
    """Delete expired keys, `batch` per transaction, at most `max_batches` batches."""
    now = now or utcnow()
    total = 0
    for _ in range(max_batches):
        async with db.transaction(write=True) as conn:
            deleted = await delete_expired(conn, now, batch)
        total += deleted
        if deleted < batch:
            break
    return total


async def purge_periodically(db: Database, *, every: float = PURGE_EVERY_SECONDS) -> None:
    """Run `purge` every `every` seconds until cancelled (started by the app's lifespan)."""
    while True:
        await asyncio.sleep(every)
        try:
            deleted = await purge(db)
        except Exception:
            # A failed round (database briefly unavailable, ...) is retried at the next one;
            # the loop itself must outlive it.
            log.warning("idempotency key cleanup failed", exc_info=True)
            continue
        if deleted:
            log.info("deleted %d expired idempotency keys", deleted)
