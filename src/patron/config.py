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
        default=5000, ge=0, description="How long an SQLite write waits for another process's lock."
    )
    statement_timeout_ms: int = Field(
        default=10000, ge=100, description="PostgreSQL statement timeout for API requests."
    )


def get_settings() -> Settings:
    """Settings as the environment gives them now (never cached at import)."""
    return Settings()
