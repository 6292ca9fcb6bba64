"""Reports stored, delivered, retried and recovered: S3 and SES through moto, signed webhooks through responses."""

from __future__ import annotations

import email
import hashlib
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
import responses

from shared import report as reports
from shared.core import db, errors, settings
from shared.report import access, delivery, dispatch, storage
from tests.integration.reports.support import BUCKET, HOOK, LONDON_NOW, SENDER, WEEK, sent_emails


def test_report_is_stored_in_s3_with_matching_checksums_and_served_by_access(
    aws: Any,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = business()
    rec = reports.generate(db.transaction, org.id, "weekly", WEEK, deliver=False, now=LONDON_NOW)
    assert rec.status == "stored" and rec.delivery_status == "not_requested"
    assert rec.period_start == WEEK and rec.period_end == date(2026, 11, 16) and rec.generation_ms is not None
    assert set(rec.files) == {"html", "pdf", "csv"}
    for fmt, meta in rec.files.items():
        body = aws.get_object(Bucket=BUCKET, Key=meta["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == meta["sha256"] and len(body) == meta["bytes"]
        assert meta["key"] == f"reports/{org.id}/weekly/2026-11-09/report.{fmt}"
    body, content_type, filename = access.report_file(conn, org.id, rec.id, "pdf")
    assert body.startswith(b"%PDF") and content_type == "application/pdf"
    assert filename == "rose-thorn-weddings-weekly-report-2026-11-09.pdf"
    html_body = access.report_file(conn, org.id, rec.id, "html")[0].decode()
    assert "data:image/png;base64," in html_body and "<script" not in html_body and str(org.id) not in html_body
    listed = access.list_reports(conn, org.id)
    assert [(r.id, r.kind, r.formats) for r in listed] == [(rec.id, "weekly", ["csv", "html", "pdf"])]
    aws.put_object(Bucket=BUCKET, Key=rec.files["csv"]["key"], Body=b"tampered")
    with pytest.raises(errors.PipelineError, match="sha256"):
        access.report_file(conn, org.id, rec.id, "csv")


def test_another_organization_cannot_read_a_report_by_id(
    report_env: None,
    business: Callable[..., Any],
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = business()
    other = make_org(name="Other Studio")
    rec = reports.generate(db.transaction, org.id, "weekly", WEEK, deliver=False, now=LONDON_NOW)
    with pytest.raises(errors.NotFound):
        access.report_file(conn, other.id, rec.id, "pdf")
    assert access.list_reports(conn, other.id) == []
    with pytest.raises(errors.InvalidInput, match="format must be one of"):
        access.report_file(conn, org.id, rec.id, "docx")
    # and in the database: a signed-in user of the other organization sees no row (RLS)
    with conn.transaction():
        conn.execute("set local role authenticated")
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)", (json.dumps({"organization_id": str(other.id)}),)
        )
        assert conn.execute("select count(*) from analytics_reports").fetchone() == (0,)
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)", (json.dumps({"organization_id": str(org.id)}),)
        )
        assert conn.execute("select count(*) from analytics_reports").fetchone() == (1,)


def test_report_is_emailed_through_ses_with_inline_charts_and_attachments_and_posted_signed(
    aws: Any,
    business: Callable[..., Any],
) -> None:
    org = business(recipients=["owner@roseandthorn.example", "studio@roseandthorn.example"], webhook_url=HOOK)
    with responses.RequestsMock() as hooks:
        hooks.add(responses.POST, HOOK, status=204)
        rec = reports.generate(db.transaction, org.id, "weekly", WEEK, deliver=True, now=LONDON_NOW)
        assert len(hooks.calls) == 1
        call = hooks.calls[0].request
    assert rec.delivery_status == "delivered" and rec.last_error is None and rec.delivered_at is not None
    assert rec.deliveries["email"]["status"] == "delivered" and rec.deliveries["webhook"]["attempts"] == 1
    sent = sent_emails()
    assert len(sent) == 1 and sent[0].source == f"WedSync Reports <{SENDER}>"
    assert {"owner@roseandthorn.example", "studio@roseandthorn.example"} <= set(sent[0].destinations)
    message = email.message_from_string(sent[0].raw_data)
    assert message["Subject"] == "Rose & Thorn Weddings: Weekly report: 9 Nov 2026 to 15 Nov 2026"
    parts = list(message.walk())
    attached = {p.get_filename(): p for p in parts if p.get("Content-Disposition", "").startswith("attachment")}
    assert set(attached) == {
        "rose-thorn-weddings-weekly-report-2026-11-09.pdf",
        "rose-thorn-weddings-weekly-report-2026-11-09.csv",
    }
    pdf = attached["rose-thorn-weddings-weekly-report-2026-11-09.pdf"].get_payload(decode=True)
    assert isinstance(pdf, bytes)
    assert hashlib.sha256(pdf).hexdigest() == rec.files["pdf"]["sha256"]
    images = [p for p in parts if p.get_content_type() == "image/png"]
    html_bytes = next(p for p in parts if p.get_content_type() == "text/html").get_payload(decode=True)
    assert isinstance(html_bytes, bytes)
    html_part = html_bytes.decode()
    assert images and "data:image" not in html_part
    for img in images:
        assert f'src="cid:{img["Content-ID"].strip("<>")}"' in html_part
    # the webhook body is signed with the organization's secret over timestamp + body
    header = call.headers[delivery.SIGNATURE_HEADER]
    assert isinstance(call.body, bytes)
    assert delivery.verify(delivery.signing_secret(org.id), header, call.body)
    assert not delivery.verify(delivery.signing_secret(org.id), header, call.body + b" ")
    body = json.loads(call.body)
    assert body["type"] == "report.ready" and body["report"]["id"] == str(rec.id)
    assert body["files"]["pdf"]["sha256"] == rec.files["pdf"]["sha256"]


def test_failed_webhook_is_retried_with_backoff_and_the_row_shows_attempts_and_last_error(
    report_env: None,
    business: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPORTS_RETRY_BASE_SECONDS", "2")
    settings.clear_cache()
    org = business(webhook_url=HOOK)
    waits: list[float] = []
    with responses.RequestsMock() as hooks:
        hooks.add(responses.POST, HOOK, status=500, body="upstream down")
        hooks.add(responses.POST, HOOK, status=200)
        rec = reports.generate(db.transaction, org.id, "weekly", WEEK, now=LONDON_NOW, sleep=waits.append)
        assert len(hooks.calls) == 2
    assert waits == [2.0]
    assert rec.delivery_status == "delivered" and rec.delivery_attempts == 2
    assert rec.deliveries["webhook"]["attempts"] == 2
    assert "HTTP 500" in rec.deliveries["webhook"]["last_error"] and "HTTP 500" in (rec.last_error or "")


def test_delivery_still_failing_is_retried_by_a_later_run_without_resending_what_succeeded(
    aws: Any,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = business(recipients=["owner@roseandthorn.example"], webhook_url=HOOK, monthly=False)
    waits: list[float] = []
    with responses.RequestsMock() as hooks:
        hooks.add(responses.POST, HOOK, status=503)
        rec = reports.generate(db.transaction, org.id, "weekly", WEEK, now=LONDON_NOW, sleep=waits.append)
        assert len(hooks.calls) == 3
    assert waits == [0.0, 0.0]  # base 0 in tests: exponential 0, 0
    assert rec.delivery_status == "failed" and rec.delivery_attempts == 4  # email 1 + webhook 3
    assert rec.deliveries["email"]["status"] == "delivered" and rec.next_attempt_at is not None
    assert "webhook" in (rec.last_error or "") and "503" in (rec.last_error or "")
    # not due yet: the scheduled run leaves it alone
    with responses.RequestsMock() as hooks:
        outcome = reports.run_due(db.transaction, now=LONDON_NOW, sleep=waits.append)
        assert len(hooks.calls) == 0
    assert outcome.errors == []
    conn.execute("update analytics_reports set next_attempt_at = now() - interval '1 second' where id = %s", (rec.id,))
    with responses.RequestsMock() as hooks:
        hooks.add(responses.POST, HOOK, status=200)
        outcome = reports.run_due(db.transaction, now=LONDON_NOW, sleep=waits.append)
        assert len(hooks.calls) == 1
    assert outcome.delivered == 1
    again = access.get(conn, org.id, rec.id)
    assert again.delivery_status == "delivered" and again.deliveries["webhook"]["attempts"] == 4
    assert len(sent_emails()) == 1  # the email went once


def test_a_second_run_for_the_same_period_does_nothing_new(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = business(weekly=True, monthly=True, webhook_url=HOOK)
    with responses.RequestsMock() as hooks:
        hooks.add(responses.POST, HOOK, status=200)
        first = reports.run_due(db.transaction, now=LONDON_NOW)
        second = reports.run_due(db.transaction, now=LONDON_NOW + timedelta(minutes=59))
        assert len(hooks.calls) == 2  # the week of 9 Nov and October, once each
    assert (first.queued, first.generated, first.delivered) == (2, 2, 2)
    # the second plan finds both reports planned already: it queues nothing, so no worker touches them
    assert (second.queued, second.generated, second.delivered, second.unchanged) == (0, 0, 0, 0)
    rows = conn.execute(
        "select kind, period_start, generation_attempts, delivery_attempts from analytics_reports "
        "where organization_id = %s order by kind",
        (org.id,),
    ).fetchall()
    assert rows == [("monthly", date(2026, 10, 1), 1, 1), ("weekly", WEEK, 1, 1)]
    # generate() for the same period is also a no-op and returns the stored report
    rec = reports.generate(db.transaction, org.id, "weekly", WEEK, now=LONDON_NOW)
    assert rec.generation_attempts == 1 and rec.delivery_attempts == 1


def test_a_run_that_died_half_way_is_completed_by_the_next_run(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = business(webhook_url=HOOK, monthly=False)
    # A run claimed the row and died before storing anything: its lease has since expired.
    conn.execute(
        "insert into analytics_reports (organization_id, kind, period_start, period_end, timezone, status, "
        "lease_until, generation_attempts) values (%s, 'weekly', %s, %s, 'Europe/London', 'generating', "
        "now() - interval '1 minute', 1)",
        (org.id, WEEK, WEEK + timedelta(days=7)),
    )
    with responses.RequestsMock() as hooks:
        hooks.add(responses.POST, HOOK, status=200)
        outcome = reports.run_due(db.transaction, now=LONDON_NOW)
        assert len(hooks.calls) == 1
    assert outcome.generated == 1 and outcome.delivered == 1
    (rec,) = access.list_reports(conn, org.id)
    assert rec.status == "stored" and rec.delivery_status == "delivered"
    # A live lease is respected: nobody else works on a report a running run holds.
    conn.execute("update analytics_reports set status = 'generating', lease_until = now() + interval '5 minutes'")
    with responses.RequestsMock():
        assert reports.run_due(db.transaction, now=LONDON_NOW).generated == 0


def test_stored_but_undelivered_report_is_delivered_by_the_next_run(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = business(webhook_url=HOOK, monthly=False)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("the instance was stopped")

    real = dispatch.deliver
    monkeypatch.setattr(dispatch, "deliver", crash)
    with pytest.raises(KeyboardInterrupt):
        reports.generate(db.transaction, org.id, "weekly", WEEK, now=LONDON_NOW)
    monkeypatch.setattr(dispatch, "deliver", real)
    row = conn.execute("select status, delivery_status, lease_until > now() from analytics_reports").fetchone()
    assert row == ("stored", "pending", True)
    with responses.RequestsMock():  # the dead run's lease still holds: nothing happens yet
        assert reports.run_due(db.transaction, now=LONDON_NOW).delivered == 0
    conn.execute("update analytics_reports set lease_until = now() - interval '1 second'")  # the lease expires
    with responses.RequestsMock() as hooks:
        hooks.add(responses.POST, HOOK, status=200)
        outcome = reports.run_due(db.transaction, now=LONDON_NOW)
        assert len(hooks.calls) == 1
    assert outcome.generated == 0 and outcome.delivered == 1


def test_a_generation_failure_is_recorded_and_retried_by_the_next_run(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = business(monthly=False)
    real_put = storage.put

    def full_disk(*args: Any, **kwargs: Any) -> str:
        raise OSError("No space left on device")

    monkeypatch.setattr(storage, "put", full_disk)
    outcome = reports.run_due(db.transaction, now=LONDON_NOW)
    assert len(outcome.errors) == 1 and "No space left" in outcome.errors[0]
    row = conn.execute(
        "select status, generation_error, generation_attempts, lease_until from analytics_reports "
        "where organization_id = %s",
        (org.id,),
    ).fetchone()
    assert row is not None and row[:3] == ("failed", "OSError: No space left on device", 1) and row[3] is None
    monkeypatch.setattr(storage, "put", real_put)
    assert reports.run_due(db.transaction, now=LONDON_NOW).generated == 0  # its message waits for the retry time
    conn.execute("update pgmq.q_reports set vt = now()")  # REPORTS_QUEUE_RETRY_SECONDS have passed
    outcome = reports.run_due(db.transaction, now=LONDON_NOW)
    assert outcome.generated == 1 and outcome.errors == []
    (rec,) = access.list_reports(conn, org.id)
    assert rec.status == "stored" and rec.formats == ["csv", "html", "pdf"]


def test_a_delivery_that_keeps_failing_is_given_up_after_the_maximum_attempts(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPORTS_MAX_DELIVERY_ATTEMPTS", "3")
    settings.clear_cache()
    org = business(webhook_url=HOOK, monthly=False)
    with responses.RequestsMock() as hooks:
        hooks.add(responses.POST, HOOK, status=500)
        rec = reports.generate(db.transaction, org.id, "weekly", WEEK, now=LONDON_NOW)
    assert (rec.delivery_status, rec.delivery_attempts, rec.next_attempt_at) == ("failed", 3, None)
    assert rec.last_error is not None and "HTTP 500" in rec.last_error
    with responses.RequestsMock() as hooks:  # no more calls from the schedule
        assert reports.run_due(db.transaction, now=LONDON_NOW).delivered == 0
        assert len(hooks.calls) == 0
    with responses.RequestsMock() as hooks:  # by hand: regenerate delivers again
        hooks.add(responses.POST, HOOK, status=200)
        again = reports.generate(db.transaction, org.id, "weekly", WEEK, now=LONDON_NOW, regenerate=True)
    assert (again.delivery_status, again.delivery_attempts) == ("delivered", 1)


def test_an_email_ses_refuses_is_recorded_as_a_failed_delivery(
    aws: Any,
    business: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPORTS_EMAIL_SENDER", "someone-else@unverified.example")  # not a verified identity
    settings.clear_cache()
    org = business(recipients=["owner@roseandthorn.example"], monthly=False)
    rec = reports.generate(db.transaction, org.id, "weekly", WEEK, now=LONDON_NOW)
    assert rec.status == "stored" and rec.delivery_status == "failed"
    assert rec.deliveries["email"]["attempts"] == 3 and sent_emails() == []
    assert rec.last_error is not None and "SES refused the email" in rec.last_error
    assert "Did not have authority" in rec.last_error


def test_supabase_storage_endpoint_uses_path_style_addressing(
    report_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPORTS_S3_ENDPOINT_URL", "https://project.supabase.co/storage/v1/s3")
    monkeypatch.setenv("REPORTS_S3_BUCKET", BUCKET)
    monkeypatch.setenv("REPORTS_S3_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("REPORTS_S3_SECRET_ACCESS_KEY", "secret")
    settings.clear_cache()
    client = storage._client()
    url = client.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "reports/x.pdf"})
    assert url.startswith(f"https://project.supabase.co/storage/v1/s3/{BUCKET}/reports/x.pdf")
