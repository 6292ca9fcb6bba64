"""Configuration, read once from the environment (and `.env`) into a typed model."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The value of every key the pipeline makes up for itself when none is given. It is public (it is in this
# file), so a deployed function refuses to start with it: see shared/core/startup.py.
DEVELOPMENT_ONLY = "wedsync-local-development-only"


class Settings(BaseSettings):
    """Every knob of the pipeline. Names are the environment variables, case-insensitive."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL. Unset: an embedded server under WEDSYNC_DATA_DIR."
    )
    wedsync_data_dir: str = Field(default=".data", description="Where the embedded PostgreSQL keeps its files.")
    wedsync_env: Literal["development", "production"] = Field(
        default="development",
        description="production: behave as deployed off Cloud Run too (there K_SERVICE says so): refuse development keys.",
    )
    pii_hash_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_ONLY),
        description="Key of the HMAC that pseudonymises personal data (emails, phones) before storage.",
    )
    ingest_queue: str = Field(
        default="ingest", description="pgmq queue from ingest (and webhook receipts) to validate."
    )
    aggregate_queue: str = Field(default="aggregate", description="pgmq queue from validate to aggregate.")
    max_body_bytes: int = Field(default=1024 * 1024, description="Largest ingest request body; larger gets 413.")
    max_batch_events: int = Field(default=1000, description="Most events in one ingest request; more gets 413.")
    max_future_skew_seconds: int = Field(
        default=600, description="How far after its receipt an event's occurred_at may be."
    )
    queue_batch_size: int = Field(default=50, description="Messages a queue function reads per transaction.")
    queue_visibility_timeout_seconds: int = Field(
        default=30,
        description="How long a read message stays invisible to other workers if its reader neither commits nor rolls back.",
    )
    queue_max_reads: int = Field(
        default=5,
        description="A message read more often than this goes to the dead letters instead of looping.",
    )
    api_key_cache_seconds: float = Field(
        default=10.0, description="How long a verified key is trusted without a look-up (revocation delay)."
    )
    db_pool_max_size: int = Field(default=8, description="Database connections per function instance.")
    db_statement_timeout_ms: int = Field(
        default=30_000,
        ge=0,
        description="Longest statement in a function's transaction (set per transaction: pooler-safe); 0: none.",
    )
    db_idle_in_transaction_timeout_ms: int = Field(
        default=60_000,
        ge=0,
        description="Longest a transaction may sit idle between statements before the server ends it; 0: none.",
    )
    cli_statement_timeout_ms: int = Field(
        default=0,
        ge=0,
        description="Longest statement of the operator's commands and migrations (rebuild, retention run); 0: none.",
    )
    local_queue_workers: int = Field(
        default=2, ge=1, le=16, description="Concurrent drains per queue function under `up` (instances in production)."
    )
    invoke_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret the database or scheduler sends to queue and cron functions; unset: open.",
    )

    # ----- webhook sources (shared/ingest/webhooks.py) -----
    webhook_secrets_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_ONLY),
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
    refresh_queue: str = Field(
        default="refresh", description="pgmq queue of debounced materialized-view refresh requests."
    )
    aggregate_batch_size: int = Field(
        default=100, description="StoredEvents messages aggregate reads per transaction (each holds many ids)."
    )
    refresh_debounce_seconds: int = Field(
        default=5, description="Materialized views refresh at most this often after their inputs changed."
    )
    refresh_safety_seconds: int = Field(
        default=900, description="A view is refreshed at least this often even when nothing flagged it."
    )
    # --- data quality monitoring, alerts, retention and erasure (docs/quality.md) ---
    quality_history_days: int = Field(default=30, description="How long check results are kept.")
    quality_history_sample_minutes: int = Field(
        default=60, description="Unchanged passing/warning results are added to the history at most this often."
    )
    quality_freshness_factor: float = Field(
        default=3.0, description="Freshness warns when the newest event is older than this many usual gaps."
    )
    quality_freshness_min_seconds: int = Field(default=3600, description="Freshness threshold never below this.")
    quality_freshness_history_days: int = Field(
        default=90, description="A source silent this long is retired: no longer measured for freshness."
    )
    quality_volume_weeks: int = Field(default=4, description="Same-weekday-and-hour weeks volume compares with.")
    quality_volume_min_expected: int = Field(default=10, description="Volume below this is not judged for drops.")
    quality_volume_settle_minutes: int = Field(
        default=10, description="Late arrivals allowed before an hour is judged."
    )
    quality_volume_drop_warn: float = Field(
        default=0.5, description="Volume warns below this share of the usual count for the weekday and hour."
    )
    quality_volume_drop_fail: float = Field(
        default=0.1, description="Volume fails below this share of the usual count."
    )
    quality_volume_spike_warn: float = Field(
        default=3.0, description="Volume warns above this multiple of the usual count."
    )
    quality_volume_spike_fail: float = Field(
        default=10.0, description="Volume fails above this multiple of the usual count."
    )
    quality_rate_window_hours: int = Field(default=24, description="Window of the rejection and duplicate rates.")
    quality_rate_min_events: int = Field(
        default=20, description="Rates are judged only over at least this many events."
    )
    quality_rejection_warn: float = Field(default=0.05, description="Rejection rate that warns.")
    quality_rejection_fail: float = Field(default=0.20, description="Rejection rate that fails.")
    quality_duplicate_warn: float = Field(default=0.20, description="Duplicate rate that warns.")
    quality_duplicate_fail: float = Field(default=0.50, description="Duplicate rate that fails.")
    quality_queue_age_warn_seconds: int = Field(default=300, description="Age of a queue's oldest message that warns.")
    quality_queue_age_fail_seconds: int = Field(default=900, description="Age of a queue's oldest message that fails.")
    quality_queue_depth_warn: int = Field(default=10_000, description="Queue depth that warns.")
    quality_queue_depth_fail: int = Field(default=100_000, description="Queue depth that fails.")
    quality_reconcile_days: int = Field(
        default=7, description="How many recent days reconciliation recomputes from raw events."
    )
    quality_drift_window_hours: int = Field(
        default=24, description="Window in which new refused fields or types count as schema drift."
    )
    quality_partitions_ahead_warn: int = Field(
        default=3, description="Warn when fewer monthly event partitions than this exist ahead of now."
    )
    quality_partitions_ahead_fail: int = Field(
        default=1, description="Fail when fewer monthly event partitions than this exist ahead of now."
    )
    quality_table_bytes_warn: int = Field(default=500 * 1024**3, description="Table size (bytes) that warns.")
    quality_dead_tuples_warn: int = Field(
        default=100_000, description="Dead tuples in a queue table that warn (vacuum is behind)."
    )
    alert_webhook_url: str | None = Field(default=None, description="Webhook for global checks (and orgs with none).")
    alert_webhook_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_ONLY),
        description="HMAC-SHA256 key signing alert webhooks (an organization may set its own).",
    )
    alert_emails: list[str] = Field(default_factory=list, description="Recipients of global alerts (JSON list).")
    alert_email_from: str = Field(
        default="alerts@wedsync.app", description="Sender address of alert emails (a verified SES identity)."
    )
    alert_timeout_seconds: float = Field(default=10.0, description="Timeout of one alert webhook call.")
    aws_region: str = Field(default="eu-west-2", description="AWS region of SES for alerts.")
    retention_default_days: int = Field(default=730, description="Raw-event retention when an org sets none.")
    retention_batch_size: int = Field(
        default=10_000, description="Rows deleted per statement when retention cannot drop a whole partition."
    )
    retention_lock_timeout_ms: int = Field(
        default=5000, description="How long dropping a partition may wait for its lock before deleting rows instead."
    )
    # ----- automated reports (docs/reports.md) -----
    reports_s3_bucket: str | None = Field(
        default=None, description="Bucket of report files (S3 API: AWS S3 or Supabase Storage); unset: local folder."
    )
    reports_s3_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint, e.g. https://<project>.supabase.co/storage/v1/s3; unset: AWS."
    )
    reports_s3_region: str = Field(default="us-east-1", description="Region of the report bucket.")
    reports_s3_access_key_id: str | None = Field(default=None, description="Unset: boto3's default credentials.")
    reports_s3_secret_access_key: SecretStr | None = Field(
        default=None, description="Secret of the report bucket's access key (unset: boto3's default credentials)."
    )
    reports_s3_prefix: str = Field(default="reports", description="Key prefix of every report file.")
    reports_local_dir: str = Field(default=".data/reports", description="Where files go when no bucket is set.")
    reports_email_sender: str | None = Field(
        default=None, description="Verified SES sender, e.g. 'WedSync Reports <reports@wedsync.com>'; unset: no email."
    )
    reports_ses_region: str = Field(default="eu-west-2", description="AWS region of SES for report emails.")
    reports_webhook_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_ONLY),
        description="Master key of the per-organization report webhook signing secrets. Set it in production.",
    )
    reports_webhook_timeout_seconds: float = Field(default=10.0, description="Timeout of one report webhook call.")
    reports_delivery_tries: int = Field(default=3, ge=1, le=10, description="Tries per channel within one run.")
    reports_retry_base_seconds: float = Field(
        default=1.0, ge=0, description="Backoff within a run: base, 2x base, ... between tries."
    )
    reports_retry_later_seconds: int = Field(
        default=900, description="First wait before a later run retries a failed delivery (doubles, max 1 day)."
    )
    reports_max_delivery_attempts: int = Field(default=20, description="Delivery tries before giving up for good.")
    reports_max_generation_attempts: int = Field(default=5, description="Generation tries before giving up.")
    reports_lease_seconds: int = Field(
        default=600, description="How long a run owns a report; a run that died is taken over after this."
    )
    reports_public_base_url: str | None = Field(
        default=None, description="Base URL of the dashboard API, for file links in webhook bodies."
    )

    # ----- dashboard API (docs/dashboard.md) -----
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

    @property
    def max_future_skew(self) -> timedelta:
        return timedelta(seconds=self.max_future_skew_seconds)


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings; tests clear the cache after changing the environment."""
    return Settings()
