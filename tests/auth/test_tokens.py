"""The token codec on its own: what it signs, and everything it refuses."""

from __future__ import annotations

import time

import jwt
import pytest

from patron.auth.tokens import (
    LEEWAY_SECONDS,
    MAX_TOKEN_LENGTH,
    InvalidToken,
    TokenClaims,
    TokenCodec,
    signing_key,
)
from patron.orgs.model import OrgId

KEY = "unit-test-secret-key-0123456789abcdef"
ACME = OrgId("acme")


def test_a_token_round_trips_its_claims() -> None:
    codec = TokenCodec(KEY, ttl_seconds=300)
    now = int(time.time())
    claims = codec.verify(codec.issue(ACME, "acme.till", "acme-backend", now=now))
    assert claims == TokenClaims(ACME, "acme.till", "acme-backend", now, now + 300)


def test_the_token_is_hs256_with_issuer_patron() -> None:
    token = TokenCodec(KEY, ttl_seconds=60).issue(ACME, "acme.till", "acme-backend")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == "patron"


def test_expiry_allows_only_the_clock_skew_leeway() -> None:
    codec = TokenCodec(KEY, ttl_seconds=60)
    now = time.time()
    within = codec.issue(ACME, "t", "k", now=now - 60 - LEEWAY_SECONDS + 2)
    past = codec.issue(ACME, "t", "k", now=now - 60 - LEEWAY_SECONDS - 2)
    assert codec.verify(within).org_id == ACME
    with pytest.raises(InvalidToken):
        codec.verify(past)


def test_a_token_issued_in_the_future_is_refused() -> None:
    codec = TokenCodec(KEY, ttl_seconds=60)
    with pytest.raises(InvalidToken):
        codec.verify(codec.issue(ACME, "t", "k", now=time.time() + 3600))


def test_another_secret_key_does_not_verify() -> None:
    token = TokenCodec("other-" + KEY, ttl_seconds=60).issue(ACME, "t", "k")
    with pytest.raises(InvalidToken):
        TokenCodec(KEY, ttl_seconds=60).verify(token)


def test_the_raw_secret_key_is_not_the_signing_key() -> None:
    now = int(time.time())
    claims = {"iss": "patron", "org": "acme", "till": "t", "key": "k", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, KEY, algorithm="HS256")
    with pytest.raises(InvalidToken):
        TokenCodec(KEY, ttl_seconds=60).verify(token)


def test_signing_keys_are_32_bytes_whatever_the_secret() -> None:
    assert len(signing_key("x")) == 32
    assert len(signing_key("y" * 500)) == 32
    assert signing_key("x") != signing_key("y")


@pytest.mark.parametrize("token", ["", "x" * (MAX_TOKEN_LENGTH + 1), "a.b.c", "\x00", "é"])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        TokenCodec(KEY, ttl_seconds=60).verify(token)
