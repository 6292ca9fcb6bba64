from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pydantic
import pytest

from shared.aggregate import corrections
from shared.monitor import alerts, checks, erasure


def test_the_webhook_signature_is_an_hmac_of_timestamp_dot_body() -> None:
    body = b'{"state":"opened"}'
    expected = hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert alerts.sign("k" * 16, "1700000000", body) == "v1=" + expected
    assert alerts.sign("k" * 16, "1700000001", body) != "v1=" + expected


def test_alert_settings_refuse_a_non_http_url_and_a_short_secret() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        alerts.AlertSettings.model_validate({"webhook_url": "ftp://x", "webhook_secret": "short"})
    assert {e["loc"][0] for e in caught.value.errors()} == {"webhook_url", "webhook_secret"}


def test_the_usual_gap_is_the_median_and_needs_some_history() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    hours = [start + timedelta(hours=h) for h in (0, 1, 2, 3, 10)]
    assert checks._usual_gap(hours) == 3600
    assert checks._usual_gap(hours[:4]) is None


def test_removed_events_become_one_rebuild_window_per_utc_day() -> None:
    moments = [
        datetime(2026, 3, 1, 23, 59, tzinfo=UTC),
        datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 4, 12, tzinfo=UTC),
    ]
    windows = corrections.daily_windows(moments)
    assert [(w.occurred_from.day, w.occurred_to.day, w.events_removed) for w in windows] == [(1, 2, 2), (4, 5, 1)]


def test_the_erasure_subject_hash_is_keyed_and_per_organization() -> None:
    from uuid import UUID

    a, b = UUID(int=1), UUID(int=2)
    assert erasure.subject_hash(a, "client-1") != erasure.subject_hash(b, "client-1")
    assert "client-1" not in erasure.subject_hash(a, "client-1")
    assert len(erasure.subject_hash(a, "client-1")) == 64
