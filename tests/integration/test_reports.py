"""Automated reports against the real database, with moto standing in for S3/SES and responses for webhooks."""

from __future__ import annotations

import csv
import email
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import psycopg
import pytest
import responses
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from shared import report as reports
from shared.aggregate import aggregation
from shared.core import db, errors, settings
from shared.metrics import funnels, rollups, timeframes
from shared.refresh import views as refresh
from shared.report import access, delivery, dispatch, periods, storage, text
from shared.tools import cli
from shared.validate import validation
from tests import factories

SENDER = "reports@wedsync.example"
BUCKET = "wedsync-reports-test"
HOOK = "https://hooks.example.com/wedsync/reports"
LONDON_NOW = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)  # Monday morning: the week of 9 Nov has closed everywhere


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


def _sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages)


def _load(ingest_app: Any, key: str, batch: list[dict[str, Any]]) -> None:
    """Through the real pipeline: ingest over HTTP, validate, aggregate, refresh the views."""
    for i in range(0, len(batch), 500):
        answer = ingest_app.post(
            "/v1/events",
            data=json.dumps({"events": batch[i : i + 500]}),
            headers={"Authorization": f"Bearer {key}"},
            content_type="application/json",
        )
        assert answer.status_code == 202, answer.json
        assert not answer.json["rejected"], answer.json["rejected"]
    while validation.drain(db.transaction)[1]:
        pass
    while aggregation.drain(db.transaction)[1]:
        pass
    refresh.run(db.transaction, force=True)


def _business(tz: str, currency: str = "GBP") -> list[dict[str, Any]]:
    """A small but complete picture around November 2026 in zone `tz`: inquiries from two sources, bookings
    (one cancelled), payments in two currencies with a refund, a review, emails; also a year earlier."""
    zone = ZoneInfo(tz)
    out: list[dict[str, Any]] = []

    def at(d: date, hour: int = 12) -> str:
        return datetime(d.year, d.month, d.day, hour, tzinfo=zone).isoformat()

    for offset, day in enumerate(
        [
            date(2026, 11, 9),
            date(2026, 11, 10),
            date(2026, 11, 12),
            date(2025, 11, 11),
            date(2026, 11, 3),
            date(2026, 10, 20),
        ]
    ):
        c = f"client-{offset}"
        source = "instagram" if offset % 2 == 0 else "google"
        out.append(
            factories.make_event(
                "inquiry.received",
                occurred_at=at(day),
                client_id=c,
                lead_source=source,
                currency=currency,
                budget_minor=500000,
            )
        )
        if offset in (0, 1, 3, 4):
            out.append(
                factories.make_event(
                    "booking.confirmed",
                    occurred_at=at(day, 15),
                    client_id=c,
                    booking_id=f"b-{offset}",
                    value_minor=300000 + offset * 1000,
                    currency=currency,
                    lead_source=source,
                    wedding_date="2027-06-12",
                )
            )
            out.append(
                factories.make_event(
                    "payment.succeeded",
                    occurred_at=at(day, 16),
                    client_id=c,
                    payment_id=f"p-{offset}",
                    booking_id=f"b-{offset}",
                    amount_minor=75000 + offset,
                    currency=currency,
                    kind="deposit",
                )
            )
    out.append(
        factories.make_event(
            "payment.succeeded",
            occurred_at=at(date(2026, 11, 11)),
            client_id="client-1",
            payment_id="p-usd",
            booking_id="b-1",
            amount_minor=12345,
            currency="USD",
            kind="other",
        )
    )
    out.append(
        factories.make_event(
            "payment.refunded",
            occurred_at=at(date(2026, 11, 13)),
            client_id="client-0",
            payment_id="p-0",
            amount_minor=5000,
            currency=currency,
        )
    )
    out.append(
        factories.make_event(
            "booking.cancelled", occurred_at=at(date(2026, 11, 14)), client_id="client-1", booking_id="b-1"
        )
    )
    out.append(
        factories.make_event(
            "review.received",
            occurred_at=at(date(2026, 11, 11)),
            client_id="client-9",
            review_id="r-1",
            rating=5,
            nps=10,
        )
    )
    for i, d in enumerate([date(2026, 11, 9), date(2026, 11, 10)]):
        out.append(factories.make_event("email.sent", occurred_at=at(d), client_id="client-0", message_id=f"m{i}"))
        out.append(factories.make_event("email.delivered", occurred_at=at(d), client_id="client-0", message_id=f"m{i}"))
    out.append(
        factories.make_event("email.opened", occurred_at=at(date(2026, 11, 10)), client_id="client-0", message_id="m1")
    )
    return out


@pytest.fixture
def business(make_org: Callable[..., Any], ingest_app: Any) -> Callable[..., Any]:
    def make(tz: str = "Europe/London", currency: str = "GBP", **report_settings: Any) -> Any:
        org = make_org(timezone=tz, currency=currency, reports=report_settings or {"weekly": True})
        _load(ingest_app, org.ingest_key, _business(tz, currency))
        return org

    return make


WEEK = date(2026, 11, 9)


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
    sent = _sent()
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
    assert len(_sent()) == 1  # the email went once


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
    assert (first.generated, first.delivered) == (2, 2)
    assert (second.generated, second.delivered, second.unchanged) == (0, 0, 2)
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


@pytest.mark.parametrize(
    ("tz", "close_utc"),
    [
        ("Pacific/Auckland", datetime(2026, 11, 15, 11, 0, tzinfo=UTC)),  # NZDT +13
        ("America/St_Johns", datetime(2026, 11, 16, 3, 30, tzinfo=UTC)),  # NST -3:30
        ("Asia/Kathmandu", datetime(2026, 11, 15, 18, 15, tzinfo=UTC)),  # +5:45
    ],
)
def test_a_week_is_reported_only_once_it_has_closed_at_local_midnight(
    report_env: None,
    make_org: Callable[..., Any],
    ingest_app: Any,
    conn: psycopg.Connection[Any],
    tz: str,
    close_utc: datetime,
) -> None:
    org = make_org(timezone=tz, reports={"monthly": False})
    _load(ingest_app, org.ingest_key, [factories.make_event(occurred_at="2026-11-01T10:00:00+00:00")])
    assert periods.Period("weekly", WEEK, WEEK + timedelta(days=7)).window(tz)[1] == close_utc
    reports.run_due(db.transaction, now=close_utc - timedelta(minutes=1))
    starts = [
        r[0] for r in conn.execute("select period_start from analytics_reports where organization_id = %s", (org.id,))
    ]
    assert WEEK not in starts
    reports.run_due(db.transaction, now=close_utc)
    starts = [
        r[0] for r in conn.execute("select period_start from analytics_reports where organization_id = %s", (org.id,))
    ]
    assert WEEK in starts
    with pytest.raises(errors.InvalidInput, match="has not closed yet"):
        reports.generate(db.transaction, org.id, "weekly", WEEK + timedelta(days=7), now=close_utc)


def test_a_month_closes_at_local_midnight_and_the_week_starts_on_the_configured_day(
    report_env: None,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    ingest_app: Any,
) -> None:
    org = make_org(timezone="Pacific/Auckland", reports={"week_start": "sunday"})
    _load(ingest_app, org.ingest_key, [factories.make_event(occurred_at="2026-10-05T10:00:00+00:00")])
    close = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # 1 Dec 00:00 NZDT
    reports.run_due(db.transaction, now=close - timedelta(seconds=1))
    kinds = dict(conn.execute("select kind, max(period_start) from analytics_reports group by kind").fetchall())
    assert kinds == {"monthly": date(2026, 10, 1), "weekly": date(2026, 11, 22)}  # Sunday 22 Nov .. Sat 28 Nov
    reports.run_due(db.transaction, now=close)
    kinds = dict(conn.execute("select kind, max(period_start) from analytics_reports group by kind").fetchall())
    assert kinds["monthly"] == date(2026, 11, 1)
    row = conn.execute(
        "select period_end from analytics_reports where kind = 'weekly' and period_start = %s", (date(2026, 11, 22),)
    ).fetchone()
    assert row == (date(2026, 11, 29),) and org.id


def test_report_numbers_equal_the_metric_layer_for_the_same_period(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    tz = "Asia/Kathmandu"
    org = business(tz=tz, currency="NPR")
    rec = reports.generate(db.transaction, org.id, "weekly", WEEK, deliver=False, now=LONDON_NOW)
    start, end = timeframes.local_window(tz, WEEK, WEEK + timedelta(days=6))
    totals = rollups.totals(conn, org.id, start, end)
    expect = {
        "inquiries": totals.metrics["inquiries"][0].value,
        "bookings": totals.metrics["bookings"][0].value,
        "cancellations": totals.metrics["cancellations"][0].value,
    }
    for v in totals.metrics["revenue_net"]:
        expect[f"revenue_net:{v.currency}"] = v.value
    for v in totals.metrics["booking_value"]:
        expect[f"booking_value:{v.currency}"] = v.value
    expect["conversion_rate"] = funnels.funnel(conn, org.id, start, end).conversion_rate
    headline = {h["key"]: h["value"] for h in rec.summary["headline"]}
    assert {k: headline.get(k) for k in expect} == expect
    assert expect["inquiries"] == 3 and expect["revenue_net:NPR"] == 75000 + 75001 - 5000
    assert expect["revenue_net:USD"] == 12345  # never added to NPR
    # last year's same week (52 weeks earlier) has one inquiry; the previous week one
    figure = next(h for h in rec.summary["headline"] if h["key"] == "inquiries")
    assert (figure["previous"], figure["last_year"]) == (1, 1)
    # and the CSV carries the same numbers, money as exact decimals
    body = access.report_file(conn, org.id, rec.id, "csv")[0].decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    net = {r["currency"]: r["value"] for r in rows if r["section"] == "headline" and r["item"] == "Revenue (net)"}
    assert net == {"NPR": "1450.01", "USD": "123.45"}
    revenue = {r.currency: r.net_minor for r in rollups.revenue(conn, org.id, start, end)}
    assert revenue == {"NPR": 145001, "USD": 12345}
    html_body = access.report_file(conn, org.id, rec.id, "html")[0].decode()
    assert "1,450.01 NPR" in html_body and "123.45 USD" in html_body


def test_comparisons_are_empty_where_there_is_no_data_yet(
    report_env: None,
    make_org: Callable[..., Any],
    ingest_app: Any,
) -> None:
    org = make_org(reports={})
    _load(
        ingest_app, org.ingest_key, [factories.make_event("inquiry.received", occurred_at="2026-11-10T10:00:00+00:00")]
    )
    rec = reports.generate(db.transaction, org.id, "weekly", WEEK, deliver=False, now=LONDON_NOW)
    figure = next(h for h in rec.summary["headline"] if h["key"] == "inquiries")
    assert (figure["value"], figure["previous"], figure["last_year"]) == (1, None, None)
    assert figure["change_previous"] == text.NONE


def test_invalid_report_settings_are_reported_with_the_field_and_skipped(
    report_env: None,
    make_org: Callable[..., Any],
    ingest_app: Any,
    conn: psycopg.Connection[Any],
) -> None:
    bad = make_org(name="Bad", reports={"week_start": "funday", "recipients": ["not-an-email"]})
    good = make_org(name="Good", reports={"monthly": False})
    for org in (bad, good):
        _load(ingest_app, org.ingest_key, [factories.make_event(occurred_at="2026-11-01T10:00:00+00:00")])
    outcome = reports.run_due(db.transaction, now=LONDON_NOW)
    assert len(outcome.errors) == 1 and str(bad.id) in outcome.errors[0]
    assert "reports.week_start" in outcome.errors[0] and "reports.recipients" in outcome.errors[0]
    orgs = {r[0] for r in conn.execute("select organization_id from analytics_reports")}
    assert orgs == {good.id}


def test_cli_regenerates_and_backfills_past_periods(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    org = business(webhook_url=HOOK)
    with responses.RequestsMock():  # --no-deliver: no call may be made
        assert cli.main(["report", "--org", str(org.id), "--period", "2026-W46", "--no-deliver"]) == 0
        first = conn.execute("select id, files->'pdf'->>'sha256' from analytics_reports").fetchone()
        assert cli.main(["report", "--org", str(org.id), "--period", "2026-W46", "--no-deliver", "--regenerate"]) == 0
    again = conn.execute(
        "select id, files->'pdf'->>'sha256', generation_attempts, delivery_status from analytics_reports"
    ).fetchone()
    # the same numbers render to the same bytes: regeneration keeps the checksum
    assert first is not None and again == (first[0], first[1], 2, "not_requested")
    assert "weekly 2026-11-09..2026-11-16" in capsys.readouterr().out
    with responses.RequestsMock():
        assert (
            cli.main(
                [
                    "report",
                    "--org",
                    str(org.id),
                    "--kind",
                    "monthly",
                    "--from",
                    "2026-07-15",
                    "--to",
                    "2026-10-31",
                    "--no-deliver",
                ]
            )
            == 0
        )
    months = [
        r[0] for r in conn.execute("select period_start from analytics_reports where kind = 'monthly' order by 1")
    ]
    assert months == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]  # periods that START in the range
    # a backfill stops at the first period that has not closed yet
    weeks = reports.backfill(org.id, "weekly", date(2026, 11, 2), date(2026, 11, 30), now=LONDON_NOW)
    assert [w.period_start for w in weeks] == [date(2026, 11, 2), WEEK]
    assert cli.main(["report", "--org", str(org.id), "--period", "2026-13"]) == 2
    assert "month must be 01 to 12" in capsys.readouterr().err


def test_report_function_runs_due_reports_for_the_scheduler_only(
    report_env: None,
    report_app: Any,
    make_org: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    conn: psycopg.Connection[Any],
    ingest_app: Any,
) -> None:
    org = make_org(reports={"monthly": False})
    _load(ingest_app, org.ingest_key, [factories.make_event(occurred_at="2026-11-01T10:00:00+00:00")])
    monkeypatch.setenv("INVOKE_SECRET", "s3cret")
    settings.clear_cache()
    assert report_app.post("/").status_code == 401
    answer = report_app.post("/", headers={"Authorization": "Bearer s3cret"})
    assert answer.status_code == 200
    assert answer.json["generated"] == 1 and answer.json["more"] is False and answer.json["errors"] == []
    assert conn.execute("select count(*) from analytics_reports where status = 'stored'").fetchone() == (1,)


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
    assert rec.deliveries["email"]["attempts"] == 3 and _sent() == []
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


def test_generate_accepts_a_plain_connection_and_counts_upcoming_weddings_as_of_the_period_end(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = business()
    rec = reports.generate(conn, org.id, "weekly", date(2026, 11, 11), deliver=False, now=LONDON_NOW)
    assert rec.period_start == WEEK and rec.status == "stored"  # any day of the period names it
    rows = list(csv.DictReader(io.StringIO(access.report_file(conn, org.id, rec.id, "csv")[0].decode("utf-8-sig"))))
    upcoming = {(r["item"], r["period"]): r["value"] for r in rows if r["section"] == "upcoming_weddings"}
    # booked before 16 Nov and not cancelled by then: b-0, b-3 (a year earlier), b-4; b-1 was cancelled on 14 Nov
    assert upcoming[("weddings", "2027-06")] == "3"
    assert upcoming[("booked value", "2027-06")] == "9070.00"
    assert upcoming[("weddings", "2026-12")] == "0"
