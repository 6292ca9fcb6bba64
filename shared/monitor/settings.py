"""The monitor and retention functions' own settings: check thresholds, alerts, retention."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.core import settings


class MonitorSettings(settings.CoreSettings):
    """The monitor and retention functions' own settings: check thresholds, alerts, retention. Adds to the platform's settings, which it inherits."""

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
    quality_reconcile_chunk: int = Field(
        default=200,
        ge=1,
        description="Organizations reconciled per transaction (the reconcile function locks each until commit).",
    )
    quality_reconcile_orgs_per_run: int = Field(
        default=500,
        ge=1,
        description="Organizations reconciliation recomputes per run, least recently reconciled first; the "
        "others keep their latest result until their turn.",
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
        default=SecretStr(settings.DEVELOPMENT_ONLY),
        description="HMAC-SHA256 key signing alert webhooks (an organization may set its own).",
    )
    alert_emails: list[str] = Field(default_factory=list, description="Recipients of global alerts (JSON list).")
    alert_email_from: str = Field(
        default="alerts@wedsync.app", description="Sender address of alert emails (a verified SES identity)."
    )
    alert_timeout_seconds: float = Field(default=10.0, description="Timeout of one alert webhook call.")
    aws_region: str = Field(default="eu-west-2", description="AWS region of SES for alerts.")
    business_seasonal_years: int = Field(
        default=3, description="Business alerts: prior years whose same weeks make the seasonal inquiry baseline."
    )
    business_seasonal_weeks_around: int = Field(
        default=2, description="Business alerts: weeks either side of the same week of a prior year in the baseline."
    )
    business_recent_weeks: int = Field(
        default=6, description="Business alerts: recent weeks that set the inquiry level (and the baseline alone)."
    )
    business_payment_baseline_weeks: int = Field(
        default=12, description="Business alerts: weeks before the current one that set the usual payment failure rate."
    )
    business_review_recent_days: int = Field(
        default=90, description="Business alerts: reviews this recent are compared with the ones before them."
    )
    business_review_history_days: int = Field(
        default=730, description="Business alerts: how far before the recent reviews the review history reaches."
    )
    retention_default_days: int = Field(default=730, description="Raw-event retention when an org sets none.")
    alerts_queue: str = Field(
        default="alerts",
        description="pgmq queue of incident notifications (the monitor run queues them, alert-worker delivers).",
    )
    retention_queue: str = Field(
        default="retention",
        description="pgmq queue of per-organization retention work (the daily run plans, retention-worker deletes).",
    )
    retention_batch_size: int = Field(
        default=10_000, description="Rows deleted per statement when retention cannot drop a whole partition."
    )
    retention_lock_timeout_ms: int = Field(
        default=5000, description="How long dropping a partition may wait for its lock before deleting rows instead."
    )
    idempotency_resend_days: int = Field(
        default=30,
        ge=1,
        description="Re-send window: an event's idempotency key is kept at least this long after it was stored, "
        "and until its raw event expires; a re-send after both is no longer recognised as a duplicate.",
    )
    retention_dead_letters_days: int = Field(
        default=180, ge=1, description="Pending and failed dead letters not seen again for this long are deleted."
    )
    retention_dead_letters_resolved_days: int = Field(
        default=30, ge=1, description="Replayed and discarded dead letters are deleted this long after last seen."
    )
    retention_source_stats_days: int = Field(
        default=400,
        ge=1,
        description="Hourly intake counters are kept this long (at least QUALITY_FRESHNESS_HISTORY_DAYS: "
        "freshness learns each source's rhythm from them).",
    )
    retention_cron_history_days: int = Field(
        default=14, ge=1, description="pg_cron's run history (cron.job_run_details) is kept this long."
    )


get = settings.cached(MonitorSettings)
