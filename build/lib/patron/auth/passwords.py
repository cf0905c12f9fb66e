"""Slow salted hashes (argon2id) for till passwords and OAuth secrets; nothing is kept in clear.

A till's stored hash is argon2 of the md5 hex of its password, because the md5 hex is what a
Capillary client sends in its Basic credential.
"""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane). argon2-cffi's default takes 64 MiB per
# verification, which a worker's first verifications add to its resident memory; stored hashes
# carry their own parameters, so hashes made with other settings still verify.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when a credential names no known till, so that a miss costs what a hit costs.
_DUMMY_HASH = _HASHER.hash("patron-dummy-secret")


def md5_hex(password: str) -> str:
    """The lower-case md5 hex of a password, as Capillary clients send it."""
    return hashlib.md5(password.encode()).hexdigest()


def hash_secret(secret: str) -> str:
    """An argon2id hash of `secret`."""
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    """Whether `secret` matches `stored_hash` (argon2's comparison is constant-time)."""
    try:
        return _HASHER.verify(stored_hash, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_verification(secret: str) -> None:
    """Spend one verification's time on a credential that can never match."""
    verify_secret(_DUMMY_HASH, secret)
