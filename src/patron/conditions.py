"""What makes a write repeatable or conditional, as plain values. Pure: no I/O.

An `Idempotency-Key` with the fingerprint of the request it came with (SPEC rule 13), the
response it keeps for a replay, and an `If-Match` precondition. The write request reader (`patron.api.write_request`) parses the headers
into these; the service compares them with what is stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode

from patron import errors
from patron.errors import Problem

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A request's key and the fingerprint of what it asks for."""

    key: str
    fingerprint: str


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


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as first sent: status, the exact body bytes, the headers worth repeating."""

    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class IfMatch:
    """An If-Match precondition: `*`, or the strong entity tags listed (weak ones never match)."""

    tags: frozenset[str]
    any_version: bool = False

    def matches(self, version: int) -> bool:
        """Strong comparison of the customer's ETag `"<version>"` with the listed tags."""
        return self.any_version or str(version) in self.tags

    def refusal(self, version: int) -> Problem | None:
        """The 412 for a customer at `version` that does not match; None when it does."""
        if self.matches(version):
            return None
        return Problem(
            errors.PRECONDITION_FAILED,
            f'If-Match does not match the customer\'s current ETag "{version}"',
            "If-Match",
        )
