"""Fixtures of the report tests: report settings, moto's S3 and SES, and a loaded business."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared.core import settings
from tests.integration.reports.support import BUCKET, SENDER, business_events, load


@pytest.fixture
def report_env(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    monkeypatch.setenv("REPORTS_LOCAL_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("REPORTS_RETRY_BASE_SECONDS", "0")
    monkeypatch.setenv("REPORTS_EMAIL_SENDER", f"WedSync Reports <{SENDER}>")
    monkeypatch.setenv("REPORTS_SES_REGION", "eu-west-2")
    monkeypatch.setenv("REPORTS_WEBHOOK_KEY", "test-webhook-key")
    settings.clear_cache()
    yield
    settings.clear_cache()


@pytest.fixture
def aws(report_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto S3 (bucket configured) and SES (sender identity verified first, as SES requires)."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "eu-west-2"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REPORTS_S3_BUCKET", BUCKET)
    monkeypatch.setenv("REPORTS_S3_REGION", "eu-west-2")
    settings.clear_cache()
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-2")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        boto3.client("ses", region_name="eu-west-2").verify_email_identity(EmailAddress=SENDER)
        yield s3


@pytest.fixture
def business(make_org: Callable[..., Any], ingest_app: Any) -> Callable[..., Any]:
    def make(tz: str = "Europe/London", currency: str = "GBP", **report_settings: Any) -> Any:
        org = make_org(timezone=tz, currency=currency, reports=report_settings or {"weekly": True})
        load(ingest_app, org.ingest_key, business_events(tz, currency))
        return org

    return make
