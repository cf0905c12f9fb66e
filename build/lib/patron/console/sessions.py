"""Console sessions: a signed cookie naming the org and console user, and its CSRF token.

The cookie holds `base64url(json).base64url(HMAC-SHA256)` under a key derived from
PATRON_SECRET_KEY with a label of its own (as OAuth tokens derive theirs), so neither kind of
signature can stand in for the other. It carries the org, the login, an absolute expiry, a
random nonce (the CSRF token is an HMAC of it, so it is tied to this sign-in) and a digest of
the password hash the user signed in with: a changed password or a removed user ends every
session at once. Pure: no I/O, the clock is passed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson

from patron.orgs.model import OrgId

COOKIE = "patron_console"
PATH = "/console"
MAX_COOKIE_LENGTH = 1024
"""Longer cookie values are refused before any parsing (ours are about 250 characters)."""

_KEY_LABEL = b"patron console session v1"


@dataclass(frozen=True, slots=True)
class Session:
    """What a valid session cookie says."""

    org_id: OrgId
    login: str
    nonce: str
    expires_at: int
    credential: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Issues and reads session cookies and their CSRF tokens under one secret key."""

    def __init__(self, secret_key: str, *, ttl_seconds: int) -> None:
        self._key = hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self._ttl = ttl_seconds

    @property
    def ttl_seconds(self) -> int:
        """Lifetime of a session, from sign-in."""
        return self._ttl

    def _mac(self, kind: bytes, data: bytes) -> bytes:
        return hmac.new(self._key, kind + b"\0" + data, hashlib.sha256).digest()

    def credential(self, password_hash: str) -> str:
        """A short digest of a stored password hash, so a changed password ends sessions."""
        return _b64(self._mac(b"credential", password_hash.encode())[:12])

    def issue(self, org_id: OrgId, login: str, password_hash: str, *, now: float) -> str:
        """A cookie value for a user who just signed in at `now`."""
        payload = orjson.dumps(
            {
                "o": org_id,
                "l": login,
                "n": secrets.token_urlsafe(16),
                "e": int(now) + self._ttl,
                "c": self.credential(password_hash),
            }
        )
        return f"{_b64(payload)}.{_b64(self._mac(b'session', payload))}"

    def read(self, value: str | None, *, now: float) -> Session | None:
        """The session of a cookie value this key signed and that has not expired; else None."""
        if not value or len(value) > MAX_COOKIE_LENGTH:
            return None
        body, _, mac = value.partition(".")
        try:
            payload, signature = _unb64(body), _unb64(mac)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(signature, self._mac(b"session", payload)):
            return None
        claims = orjson.loads(payload)
        session = Session(
            OrgId(claims["o"]), claims["l"], claims["n"], int(claims["e"]), claims["c"]
        )
        return session if session.expires_at > now else None

    def csrf_token(self, session: Session) -> str:
        """The anti-forgery token of every form of this session."""
        return _b64(self._mac(b"csrf", session.nonce.encode()))

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        """Whether `token` is this session's anti-forgery token (constant-time)."""
        return token is not None and hmac.compare_digest(
            token.encode(), self.csrf_token(session).encode()
        )
