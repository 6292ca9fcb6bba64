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
    dashboard_live_max_per_org: int = Field(
        default=3,
        ge=1,
        description="Live streams one organization may hold open on each instance; one more gets 429 with "
        "Retry-After, so one organization cannot take the threads every other one needs.",
    )
    dashboard_live_max_total: int = Field(
        default=20,
        ge=1,
        description="Live streams each instance holds open at once, all organizations together (keep it well below "
        "the server's threads, THREADS); beyond it 429 with Retry-After.",
    )
    dashboard_rate_per_second: float = Field(
        default=10.0,
        description="Requests per second each user (or API key) may make to the dashboard, on each instance; beyond "
        "the burst it gets 429 with Retry-After. 0: no limit.",
    )
    dashboard_rate_burst: int = Field(
        default=30, ge=1, description="Requests a user may make at once before DASHBOARD_RATE_PER_SECOND applies."
    )
    share_link_key: SecretStr = Field(
        default=SecretStr(settings.DEVELOPMENT_ONLY),
        description="Key of the HMAC that signs share links' tokens; changing it invalidates every link.",
    )
    dashboard_public_url: str = Field(
        default="http://127.0.0.1:8080", description="Public base URL of the dashboard (the share links' URLs)."
    )
    dashboard_cors_origins: str = Field(
        default="*", description="Origins allowed to call the dashboard API from a browser (comma-separated, or *)."
    )


get = settings.cached(DashboardSettings)
