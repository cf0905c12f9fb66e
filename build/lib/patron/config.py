"""Settings: every knob is a PATRON_* environment variable (and a matching CLI option)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        description="How long a worker trusts its cached org configuration before checking its version.",
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
    auth_failure_limit: int = Field(
        default=10,
        ge=0,
        description="Failed authentications per till, OAuth key or client address and window "
        "before further attempts are refused with 429 (per worker; 0 turns throttling off).",
    )
    auth_failure_window_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        description="The throttling window, counted from a key's first failure.",
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


def get_settings() -> Settings:
    """Settings as the environment gives them now (never cached at import)."""
    return Settings()
