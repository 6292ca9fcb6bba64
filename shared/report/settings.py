"""The report stage's own settings: storage, delivery, retries (the dashboard's report downloads read storage too)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.core import settings


class ReportSettings(settings.CoreSettings):
    """The report stage's own settings: storage, delivery, retries (the dashboard's report downloads read storage too). Adds to the platform's settings, which it inherits."""

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
        default=SecretStr(settings.DEVELOPMENT_ONLY),
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
    reports_queue: str = Field(
        default="reports",
        description="pgmq queue of planned reports, one message per report, drained by report-worker.",
    )
    reports_queue_retry_seconds: int = Field(
        default=300,
        ge=1,
        description="How long a report whose generation failed stays on the queue before a worker tries it again.",
    )
    reports_public_base_url: str | None = Field(
        default=None, description="Base URL of the dashboard API, for file links in webhook bodies."
    )


get = settings.cached(ReportSettings)
