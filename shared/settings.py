"""Configuration, read once from the environment (and `.env`) into a typed model."""

from __future__ import annotations

import functools
from datetime import timedelta

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the pipeline. Names are the environment variables, case-insensitive."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL. Unset: an embedded server under WEDSYNC_DATA_DIR."
    )
    wedsync_data_dir: str = Field(default=".data", description="Where the embedded PostgreSQL keeps its files.")
    pii_hash_key: SecretStr = Field(
        default=SecretStr("wedsync-local-development-only"),
        description="Key of the HMAC that pseudonymises personal data (emails, phones) before storage.",
    )
    ingest_queue: str = "ingest"
    aggregate_queue: str = "aggregate"
    max_body_bytes: int = 1024 * 1024
    max_batch_events: int = 1000
    max_future_skew_seconds: int = 600
    queue_batch_size: int = Field(default=50, description="Messages a queue function reads per transaction.")
    queue_visibility_timeout_seconds: int = 30
    queue_max_reads: int = Field(
        default=5,
        description="A message read more often than this goes to the dead letters instead of looping.",
    )
    api_key_cache_seconds: float = Field(
        default=10.0, description="How long a verified key is trusted without a look-up (revocation delay)."
    )
    db_pool_max_size: int = 8
    local_queue_workers: int = Field(
        default=2, ge=1, le=16, description="Concurrent drains per queue function under `up` (instances in production)."
    )
    invoke_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret the database or scheduler sends to queue and cron functions; unset: open.",
    )

    # ----- webhook sources (shared/webhooks.py) -----
    webhook_secrets_key: SecretStr = Field(
        default=SecretStr("wedsync-local-development-only"),
        description="Key that encrypts stored webhook signing secrets (AES-256-GCM). Set it in production.",
    )
    webhook_tolerance_seconds: int = Field(
        default=300, description="How old (or early) a signed webhook timestamp may be before it is refused."
    )
    webhook_rotation_window_hours: float = Field(
        default=24.0, description="How long the previous secret stays valid after `source rotate-secret`."
    )
    ingest_public_url: str = Field(
        default="http://127.0.0.1:8080", description="Public base URL of the ingest function (webhook URLs)."
    )
    # ----- aggregation (docs/aggregation.md) -----
    refresh_queue: str = "refresh"
    aggregate_batch_size: int = Field(
        default=100, description="StoredEvents messages aggregate reads per transaction (each holds many ids)."
    )
    refresh_debounce_seconds: int = Field(
        default=5, description="Materialized views refresh at most this often after their inputs changed."
    )
    refresh_safety_seconds: int = Field(
        default=900, description="A view is refreshed at least this often even when nothing flagged it."
    )

    # ----- dashboard API (docs/dashboard.md) -----
    supabase_jwt_secret: SecretStr | None = Field(
        default=None, description="The Supabase project's JWT secret: verifies HS256 user tokens locally."
    )
    supabase_jwks_url: str | None = Field(
        default=None, description="JWKS of the Supabase project (asymmetric signing keys), fetched and cached."
    )
    supabase_jwt_audience: str = "authenticated"
    jwks_cache_seconds: float = Field(default=600.0, description="How long a fetched JWKS is trusted.")
    redis_url: str | None = Field(
        default=None, description="Set: dashboard answers are also cached in Redis, shared across instances."
    )
    dashboard_cache_entries: int = Field(default=2048, description="Answers kept in each process's memory.")
    dashboard_live_max_seconds: float = Field(
        default=300.0, description="A live event stream ends after this long; the browser reconnects."
    )
    dashboard_live_heartbeat_seconds: float = Field(
        default=15.0, description="A comment line is sent this often on a quiet live stream."
    )
    dashboard_cors_origins: str = Field(
        default="*", description="Origins allowed to call the dashboard API from a browser (comma-separated, or *)."
    )

    @property
    def max_future_skew(self) -> timedelta:
        return timedelta(seconds=self.max_future_skew_seconds)


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings; tests clear the cache after changing the environment."""
    return Settings()
