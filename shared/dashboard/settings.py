"""The dashboard function's own settings: user tokens, caches, the live feed, CORS."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.core import settings


class DashboardSettings(settings.CoreSettings):
    """The dashboard function's own settings: user tokens, caches, the live feed, CORS. Adds to the platform's settings, which it inherits."""

    supabase_jwt_secret: SecretStr | None = Field(
        default=None, description="The Supabase project's JWT secret: verifies HS256 user tokens locally."
    )
    supabase_jwks_url: str | None = Field(
        default=None,
        description="JWKS of the asymmetric signing keys: `https://<ref>.supabase.co/auth/v1/.well-known/jwks.json`.",
    )
    supabase_jwt_audience: str = Field(default="authenticated", description="The `aud` claim user tokens must carry.")
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
    dashboard_live_poll_ms: int = Field(
        default=500,
        gt=0,
        description="How often a live stream reads its organization's data version (one primary-key read through "
        "the pool; pooler-safe, no LISTEN): the most a change waits before it is on the stream.",
    )
    dashboard_cors_origins: str = Field(
        default="*", description="Origins allowed to call the dashboard API from a browser (comma-separated, or *)."
    )


get = settings.cached(DashboardSettings)
