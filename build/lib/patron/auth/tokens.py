"""OAuth access tokens: JWTs signed with HS256 that name their org, till and OAuth client.

Claims: `iss` ("patron"), `org` (org code), `till` (till code), `key` (OAuth client key), `iat`
and `exp` (`iat` + the token lifetime). The signing key is derived from PATRON_SECRET_KEY with
HMAC-SHA256 and a fixed label, so it is always 32 bytes and the same secret can later key other
things without one kind of signature standing in for another.

This module checks only what the token itself proves; `patron.auth.service` then checks it
against the org's current configuration (the client still exists and still acts as that till).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import jwt

from patron.orgs.model import OrgId

ISSUER = "patron"
ALGORITHM = "HS256"
LEEWAY_SECONDS = 5
"""Clock skew tolerated between the process that issued a token and the one checking it."""
MAX_TOKEN_LENGTH = 2048
"""Longer header values are refused before any parsing (our tokens are about 250 characters)."""

_KEY_LABEL = b"patron oauth access token v1"
_REQUIRED = ("iss", "iat", "exp", "org", "till", "key")


class InvalidToken(Exception):
    """The token is malformed, tampered with, signed otherwise, expired or not ours."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says: who it acts as, and when it was issued and expires."""

    org_id: OrgId
    till_code: str
    client_key: str
    issued_at: int
    expires_at: int


def signing_key(secret_key: str) -> bytes:
    """The HS256 key derived from PATRON_SECRET_KEY."""
    return hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()


class TokenCodec:
    """Issues and verifies access tokens under one secret key and lifetime."""

    def __init__(self, secret_key: str, *, ttl_seconds: int) -> None:
        self._key = signing_key(secret_key)
        self._ttl = ttl_seconds

    @property
    def ttl_seconds(self) -> int:
        """Lifetime of the tokens this codec issues."""
        return self._ttl

    def issue(
        self, org_id: OrgId, till_code: str, client_key: str, *, now: float | None = None
    ) -> str:
        """A signed token for `client_key` acting as `till_code` of `org_id`, issued at `now`."""
        issued_at = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "org": org_id,
            "till": till_code,
            "key": client_key,
            "iat": issued_at,
            "exp": issued_at + self._ttl,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> TokenClaims:
        """The claims of a token this key signed and that has not expired; InvalidToken else."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("empty or oversized token")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": list(_REQUIRED)},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        org, till, key = claims["org"], claims["till"], claims["key"]
        issued_at, expires_at = claims["iat"], claims["exp"]
        if not all(isinstance(v, str) and v for v in (org, till, key)):
            raise InvalidToken("org, till and key must be non-empty strings")
        if not all(isinstance(v, int) for v in (issued_at, expires_at)):
            raise InvalidToken("iat and exp must be integers")
        return TokenClaims(OrgId(org), till, key, issued_at, expires_at)
