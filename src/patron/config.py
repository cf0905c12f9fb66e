"""Settings: every knob is a PATRON_* environment variable (and a matching CLI option)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from patron.addresses import parse_networks

GC_GEN0_THRESHOLD = 50_000
"""The server's gen-0 collection threshold (measured in docs/performance.md, "Garbage collection")."""


class Settings(BaseSettings):
    """The service's configuration, read from the environment when created."""

    model_config = SettingsConfigDict(env_prefix="PATRON_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///patron.db",
        description="sqlite:///PATH or postgresql://USER@HOST:PORT/DB; drivers are chosen by patron.",
    )
    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8000, description="Port the server listens on.")
    workers: int = Field(default=1, ge=1, description="Worker processes of `patron serve`.")
    admin_token: str | None = Field(
        default=None,
        description="Bearer token of the admin API; the admin API is closed without one.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Key that signs OAuth tokens; `patron serve` refuses to start without it.",
    )
    oauth_token_ttl_seconds: int = Field(
        default=300, ge=10, le=86400, description="Lifetime of OAuth tokens."
    )
    config_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How long a worker trusts its cached org configuration; its version is "
        "checked in the background from half of this on, and waited for only once it has passed.",
    )
    pool_size: int = Field(default=10, ge=1, description="PostgreSQL connections per worker.")
    sqlite_busy_timeout_ms: int = Field(
        default=5000,
        ge=0,
        description="Longest an SQLite unit of work waits for the process's connection and for "
        "another process's write lock; past it the request gets 503 (code 8114).",
    )
    statement_timeout_ms: int = Field(
        default=5000,
        ge=100,
        description="PostgreSQL statement_timeout (lock waits included): the server cancels a "
        "statement past it and the request gets 503 (code 8114).",
    )
    database_pooler: Literal["none", "transaction"] = Field(
        default="none",
        description="`transaction` when PATRON_DATABASE_URL points at a pooler in transaction "
        "mode (PgBouncer `pool_mode = transaction`): no prepared-statement cache, no startup "
        "parameters, timeouts set per transaction with SET LOCAL.",
    )
    auth_failure_limit: int = Field(
        default=10,
        ge=0,
        description="Failed authentications of one credential (till code, OAuth key) from one "
        "client address per window before that credential is refused from that address with "
        "429; also the admin-token failures allowed per address (per worker; 0 turns "
        "throttling off).",
    )
    auth_failure_window_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        description="The throttling window, counted from a key's first failure.",
    )
    auth_address_failure_limit: int = Field(
        default=100,
        ge=0,
        description="Failed authentications from one client address across all credentials per "
        "window before credentials not yet proven from it are refused with 429 (per worker; 0 "
        "turns this limit off).",
    )
    auth_allowlist: str = Field(
        default="",
        description="Comma-separated addresses or CIDR ranges never throttled.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or CIDR ranges of the proxies whose "
        "X-Forwarded-For gives the client address (none by default).",
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Longest one attempt to open a PostgreSQL connection (TCP, TLS, authentication) may take.",
    )
    db_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Longest one PostgreSQL unit of work may take, from waiting for a pooled "
        "connection to the commit; past it the request gets 503 (code 8114).",
    )
    console_session_seconds: int = Field(
        default=8 * 3600,
        ge=60,
        le=7 * 86400,
        description="Lifetime of a member-care console session, from sign-in (docs/console.md).",
    )
    max_header_bytes: int = Field(
        default=16384,
        ge=1024,
        description="Largest request line and headers, in bytes; past it the request is "
        "answered 431 (code 8116) and the connection closed.",
    )
    event_loop: Literal["asyncio", "uvloop"] = Field(
        default="asyncio",
        description="The event loop of `patron serve`'s workers: `asyncio`, Python's own, taking "
        "one new connection per turn so that several workers share a burst of them (a single "
        "worker takes them all at once); or `uvloop`, which "
        "under load answered some requests ten to twenty times later than the median "
        '(docs/performance.md, "The event loop").',
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Longest a connection may take to send a request's line and headers (from "
        "connecting, or from its first byte on a kept-alive connection); past it it is closed.",
    )
    # --- observability (docs/observability.md) ---
    readiness_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Longest GET /readyz waits for the database to answer before reporting 503.",
    )
    access_log: bool = Field(
        default=True,
        description="Log one JSON line per request (logger `patron.access`).",
    )
    gc_freeze: bool = Field(
        default=True,
        description="After start-up, collect once and move every surviving object out of the "
        "garbage collector's sight (gc.freeze), so that its full collections stay short.",
    )
    gc_gen0_threshold: int = Field(
        default=GC_GEN0_THRESHOLD,
        ge=0,
        description="Allocations between two youngest-generation garbage collections in a "
        "server process (Python's own is 700; 0 leaves it as it is).",
    )
    # --- the event relay (`patron relay`, docs/events.md) ---
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        description="NATS server the relay publishes change events to (JetStream enabled).",
    )
    relay_batch_size: int = Field(
        default=200,
        ge=1,
        le=10000,
        description="Events the relay reads, publishes and marks per batch.",
    )
    relay_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How long the relay waits before looking again once the outbox is empty.",
    )
    relay_retention_hours: float = Field(
        default=168.0,
        ge=0,
        description="How long published events stay in the outbox before the relay purges them.",
    )
    relay_publish_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Longest the relay waits for JetStream to acknowledge one event.",
    )
    relay_max_backoff_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest pause between the relay's retries while NATS or the database is down.",
    )
    nats_duplicate_window_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Duplicate window (Nats-Msg-Id de-duplication) of the PATRON stream when the "
        "relay creates it; an existing stream keeps its own.",
    )

    @field_validator("auth_allowlist", "trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        # Refused at start-up, not at the first request that needs it.
        return ",".join(str(net) for net in parse_networks(value))


def get_settings() -> Settings:
    """Settings as the environment gives them now (never cached at import)."""
    return Settings()
