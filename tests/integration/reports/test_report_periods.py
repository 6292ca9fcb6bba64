"""Report periods in the organization's calendar, numbers equal to the metric layer, settings, the CLI and the scheduled function."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
import responses

from shared import report as reports
from shared.core import db, errors, settings
from shared.metrics import funnels, rollups, timeframes, weddings
from shared.report import access, content, periods, text
from shared.tools import cli
from tests import factories
from tests.integration.reports.support import HOOK, LONDON_NOW, WEEK, load


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
    load(ingest_app, org.ingest_key, [factories.make_event(occurred_at="2026-11-01T10:00:00+00:00")])
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
    load(ingest_app, org.ingest_key, [factories.make_event(occurred_at="2026-10-05T10:00:00+00:00")])
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
    load(
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
        load(ingest_app, org.ingest_key, [factories.make_event(occurred_at="2026-11-01T10:00:00+00:00")])
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


def test_report_functions_plan_and_make_due_reports_for_the_scheduler_only(
    report_env: None,
    report_app: Any,
    report_worker_app: Any,
    make_org: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    conn: psycopg.Connection[Any],
    ingest_app: Any,
) -> None:
    org = make_org(reports={"monthly": False})
    load(ingest_app, org.ingest_key, [factories.make_event(occurred_at="2026-11-01T10:00:00+00:00")])
    monkeypatch.setenv("INVOKE_SECRET", "s3cret")
    settings.clear_cache()
    assert report_app.post("/").status_code == 401
    assert report_worker_app.post("/").status_code == 401
    answer = report_app.post("/", headers={"Authorization": "Bearer s3cret"})
    assert answer.status_code == 200
    assert answer.json["queued"] == 1 and answer.json["more"] is False and answer.json["errors"] == []
    assert conn.execute("select count(*) from analytics_reports").fetchone() == (0,)  # the cron only plans
    answer = report_worker_app.post("/", headers={"Authorization": "Bearer s3cret"})
    assert answer.status_code == 200
    assert answer.json["generated"] == 1 and answer.json["more"] is False and answer.json["errors"] == []
    assert conn.execute("select count(*) from analytics_reports where status = 'stored'").fetchone() == (1,)
    assert conn.execute("select count(*) from pgmq.q_reports").fetchone() == (0,)


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


def test_the_monthly_report_states_the_season_pipeline_by_wedding_date_as_of_the_months_end(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = business()
    data = content.build(conn, org.id, periods.month_of(date(2026, 10, 1)))
    as_of = data.window_end - timedelta(microseconds=1)
    pipeline = weddings.answer(conn, org.id, "season", date(2026, 1, 1), date(2027, 12, 31), now=as_of)
    assert data.season_pipeline == weddings.season_lines(pipeline)
    [line] = [line for line in data.season_pipeline if line.startswith("2027 season: ")]
    season = next(p for p in pipeline.periods if p.period == "2027")
    assert f"{season.weddings} wedding" in line and "outstanding; balances due in the next 30 days: " in line
    weekly = content.build(conn, org.id, periods.Period("weekly", WEEK, WEEK + timedelta(days=7)))
    assert weekly.season_pipeline == []
