"""Session cookies and CSRF tokens (pure): signed, expiring, tied to one sign-in."""

from __future__ import annotations

import base64

from patron.auth.tokens import TokenCodec
from patron.console.sessions import SessionCodec
from patron.orgs.model import OrgId

KEY = "a-secret-key-of-the-tests-0123456789"
NOW = 1_800_000_000.0
ORG = OrgId("care")


def test_a_cookie_reads_back_until_it_expires() -> None:
    codec = SessionCodec(KEY, ttl_seconds=600)
    cookie = codec.issue(ORG, "care.editor", "$argon2id$hash", now=NOW)
    session = codec.read(cookie, now=NOW + 599)
    assert session is not None
    assert (session.org_id, session.login, session.expires_at) == (ORG, "care.editor", NOW + 600)
    assert session.credential == codec.credential("$argon2id$hash")
    assert codec.read(cookie, now=NOW + 600) is None


def test_a_tampered_or_foreign_cookie_is_no_session() -> None:
    codec = SessionCodec(KEY, ttl_seconds=600)
    cookie = codec.issue(ORG, "care.viewer", "$argon2id$hash", now=NOW)
    body, _, mac = cookie.partition(".")
    payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    other_org = payload.replace(b'"care"', b'"evil"')
    forged = base64.urlsafe_b64encode(other_org).rstrip(b"=").decode()
    assert codec.read(f"{forged}.{mac}", now=NOW) is None
    assert codec.read(cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"), now=NOW) is None
    assert (
        SessionCodec("another-key-entirely-0123456789", ttl_seconds=600).read(cookie, now=NOW)
        is None
    )
    for junk in ("", ".", "no-dot", "!!!.???", "x" * 5000):
        assert codec.read(junk, now=NOW) is None
    # An OAuth token signed with the same PATRON_SECRET_KEY is not a session.
    token = TokenCodec(KEY, ttl_seconds=300).issue(ORG, "care.till", "key", now=NOW)
    assert codec.read(token, now=NOW) is None


def test_the_csrf_token_belongs_to_one_sign_in() -> None:
    codec = SessionCodec(KEY, ttl_seconds=600)
    first = codec.read(codec.issue(ORG, "care.editor", "h", now=NOW), now=NOW)
    second = codec.read(codec.issue(ORG, "care.editor", "h", now=NOW), now=NOW)
    assert first is not None and second is not None
    assert codec.csrf_ok(first, codec.csrf_token(first))
    assert not codec.csrf_ok(first, codec.csrf_token(second))  # same user, another sign-in
    assert not codec.csrf_ok(first, None) and not codec.csrf_ok(first, "")
