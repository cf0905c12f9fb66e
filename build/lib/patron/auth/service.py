"""Authentication: a till's Basic credential or an OAuth token becomes a `Principal`.

Secrets are checked with argon2, which is slow on purpose (about 0.1 s of CPU). So that a till
calling hundreds of times a second pays it once, each process keeps a bounded LRU of credentials
that passed verification, keyed by an HMAC-SHA256 of the credential under a per-process random
key (the cache never holds a secret, nor a digest that could be attacked offline). An entry is
honoured only while the org's current configuration, re-read through `OrgConfigCache`, still
holds the same stored hash: a changed password, a removed till or a moved till takes effect
within the configuration cache's TTL.

Verifications run in worker threads, at most one per CPU at a time, and concurrent requests with
the same unverified credential share one verification. An unknown till or key spends a dummy
verification, so a miss costs what a hit costs. Every refusal is the same 401, whatever was
wrong.

Failed attempts are counted per client address and per till (`patron.auth.throttle`); a till or
address over the limit is refused with 429 before its credential is looked at. A missing
credential is not a guess and is not counted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread
from starlette.requests import Request

from patron import errors
from patron.auth import repository
from patron.auth.passwords import burn_verification, verify_secret
from patron.auth.principal import Principal
from patron.auth.throttle import address_key, throttle_for, till_key
from patron.auth.tokens import InvalidToken, TokenCodec
from patron.db.driver import Connection, Database
from patron.errors import ApiError
from patron.orgs.cache import OrgConfigCache
from patron.orgs.model import OrgConfig, OrgId

VERIFIED_CACHE_SIZE = 10_000
"""Credentials remembered per kind (Basic, OAuth client) and process, least recently used out."""
OAUTH_HEADER = "x-cap-api-oauth-token"
DENIED_MESSAGE = "Invalid or missing credentials"
MAX_CODE_LENGTH = 128
"""Longest till code or OAuth key the schema can hold; longer ones cannot match."""
MAX_SECRET_LENGTH = 1024

_MD5_HEX = re.compile(r"[0-9a-f]{32}")
_MAX_BASIC_PARAM = 4 * (MAX_CODE_LENGTH + 1 + 32) // 3 + 4


def denied() -> ApiError:
    """The one refusal of authentication: it never says which part was wrong."""
    return ApiError.one(errors.UNAUTHORIZED, DENIED_MESSAGE)


@dataclass(frozen=True, slots=True)
class Grant:
    """A credential that passed verification: its org and the stored hash it matched."""

    org_id: OrgId
    stored_hash: str


class VerifiedCache:
    """A bounded LRU of verified credentials, keyed by a digest of the credential."""

    def __init__(self, max_entries: int = VERIFIED_CACHE_SIZE) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._entries: OrderedDict[bytes, Grant] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> Grant | None:
        """The grant remembered for `key`, now the most recently used; None when absent."""
        grant = self._entries.get(key)
        if grant is not None:
            self._entries.move_to_end(key)
        return grant

    def put(self, key: bytes, grant: Grant) -> None:
        """Remember a verified credential, dropping the least recently used beyond the bound."""
        self._entries[key] = grant
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def discard(self, key: bytes) -> None:
        """Forget `key` (its grant no longer matches the configuration)."""
        self._entries.pop(key, None)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An OAuth access token and its lifetime in seconds."""

    access_token: str
    ttl_seconds: int


def parse_basic(header: str) -> tuple[str, str] | None:
    """`(till code, lower-case md5 hex)` from an `Authorization: Basic ...` value, else None."""
    scheme, _, param = header.strip().partition(" ")
    param = param.strip()
    if scheme.lower() != "basic" or not param or len(param) > _MAX_BASIC_PARAM:
        return None
    try:
        # Padding is optional for some clients; validate=True still refuses any other junk.
        text = base64.b64decode(param + "=" * (-len(param) % 4), validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    till_code, sep, digest = text.partition(":")
    digest = digest.lower()
    if not sep or not _is_code(till_code) or not _MD5_HEX.fullmatch(digest):
        return None
    return till_code, digest


def _is_code(value: str) -> bool:
    # Control characters (NUL above all, which PostgreSQL text refuses) and lone surrogates
    # can never be in a stored code; refusing them here keeps them away from the database.
    return 0 < len(value) <= MAX_CODE_LENGTH and value.isprintable() and _encodable(value)


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Authenticator:
    """Turns a request's credential into a Principal, and OAuth client secrets into tokens."""

    def __init__(
        self,
        db: Database,
        orgs: OrgConfigCache,
        *,
        secret_key: str | None,
        token_ttl: int,
        cache_size: int = VERIFIED_CACHE_SIZE,
        max_parallel_verifications: int | None = None,
    ) -> None:
        self._db = db
        self._orgs = orgs
        self._tokens = (
            TokenCodec(secret_key, ttl_seconds=token_ttl) if secret_key is not None else None
        )
        self._basic_cache = VerifiedCache(cache_size)
        self._client_cache = VerifiedCache(cache_size)
        self._pepper = secrets.token_bytes(32)
        self._limiter = anyio.CapacityLimiter(max_parallel_verifications or os.cpu_count() or 2)
        self._inflight: dict[tuple[bytes, str], asyncio.Future[bool]] = {}

    @property
    def tokens(self) -> TokenCodec | None:
        """The token codec, or None when no secret key is configured (no OAuth then)."""
        return self._tokens

    async def authenticate(self, request: Request) -> Principal:
        """The till the request's credential proves; 401 on any failure, 429 while throttled.

        An `X-CAP-API-OAUTH-TOKEN` header, when present, is used (and must be valid) even if an
        `Authorization` header is sent too. A Basic credential not yet verified is looked up in
        the database. While the client address or the till is
        throttled, `Throttled` (429) is raised without looking at the credential.
        """
        throttle = throttle_for(request)
        address = address_key(request)
        token = request.headers.get(OAUTH_HEADER)
        if token is not None:
            # A token's claims are not trusted before it is verified: only its address counts.
            throttle.check(address)
            try:
                return await self._from_token(token.strip())
            except ApiError:
                throttle.failed(address)
                raise
        header = request.headers.get("authorization")
        if header is None:
            raise denied()  # no credential, no guess: not counted
        parsed = parse_basic(header)
        till = till_key(parsed[0]) if parsed is not None else None
        throttle.check(address, till)
        if parsed is None:
            throttle.failed(address)
            raise denied()
        try:
            return await self._from_basic(*parsed)
        except ApiError:
            throttle.failed(address, till)
            raise

    async def issue_token(self, key: str, secret: str) -> IssuedToken:
        """An access token for the OAuth client `key` if `secret` is its secret; 401 otherwise."""
        if self._tokens is None or not _is_code(key):
            raise denied()
        if not _encodable(secret) or len(secret) > MAX_SECRET_LENGTH:
            raise denied()

        def stored(config: OrgConfig) -> str | None:
            client = config.oauth_clients.get(key)
            return client.secret_hash if client is not None else None

        config = await self._prove(
            self._db,
            self._client_cache,
            self._digest("oauth", key, secret),
            lambda conn: repository.oauth_client_org(conn, key),
            stored,
            secret,
        )
        client = config.oauth_clients[key]
        access_token = self._tokens.issue(config.org_id, client.till, key)
        return IssuedToken(access_token, self._tokens.ttl_seconds)

    async def _from_token(self, token: str) -> Principal:
        if self._tokens is None:
            raise denied()
        try:
            claims = self._tokens.verify(token)
        except InvalidToken:
            raise denied() from None
        config = await self._orgs.get(claims.org_id)
        if config is None:
            raise denied()
        client = config.oauth_clients.get(claims.client_key)
        if (
            client is None
            or not _same(client.till, claims.till_code)
            or claims.till_code not in config.tills
        ):
            raise denied()
        return Principal(config.org_id, claims.till_code)

    async def _from_basic(self, till_code: str, digest: str) -> Principal:
        def stored(config: OrgConfig) -> str | None:
            till = config.tills.get(till_code)
            return till.password_hash if till is not None else None

        config = await self._prove(
            self._db,
            self._basic_cache,
            self._digest("basic", till_code, digest),
            lambda conn: repository.till_org(conn, till_code),
            stored,
            digest,
        )
        return Principal(config.org_id, till_code)

    async def _prove(
        self,
        db: Database,
        cache: VerifiedCache,
        cache_key: bytes,
        find_org: Callable[[Connection], Awaitable[OrgId | None]],
        stored_hash: Callable[[OrgConfig], str | None],
        secret: str,
    ) -> OrgConfig:
        """The current config of the org whose stored hash `secret` matches; 401 otherwise."""
        grant = cache.get(cache_key)
        if grant is not None:
            config = await self._orgs.get(grant.org_id)
            current = stored_hash(config) if config is not None else None
            if config is not None and current is not None and _same(current, grant.stored_hash):
                return config
            cache.discard(cache_key)

        async with db.transaction(write=False) as conn:
            org_id = await find_org(conn)
        config = await self._orgs.get(org_id) if org_id is not None else None
        current = stored_hash(config) if config is not None else None
        if config is None or current is None:
            await anyio.to_thread.run_sync(burn_verification, secret, limiter=self._limiter)
            raise denied()
        if not await self._verify(cache_key, current, secret):
            raise denied()
        cache.put(cache_key, Grant(config.org_id, current))
        return config

    async def _verify(self, cache_key: bytes, stored_hash: str, secret: str) -> bool:
        """argon2 in a worker thread; concurrent checks of one credential share one run."""
        flight = (cache_key, stored_hash)
        future = self._inflight.get(flight)
        if future is None:
            future = asyncio.ensure_future(
                anyio.to_thread.run_sync(verify_secret, stored_hash, secret, limiter=self._limiter)
            )
            self._inflight[flight] = future
            future.add_done_callback(lambda _: self._inflight.pop(flight, None))
        # Shielded: a caller that goes away must not cancel the check others are waiting on.
        return await asyncio.shield(future)

    def _digest(self, kind: str, *parts: str) -> bytes:
        mac = hmac.new(self._pepper, kind.encode(), hashlib.sha256)
        for part in parts:
            data = part.encode()
            mac.update(len(data).to_bytes(4, "big"))
            mac.update(data)
        return mac.digest()
