"""Report calendars, settings, number formatting and webhook signatures (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.core import errors
from shared.report import config, content, delivery, dispatch, periods, text


@pytest.mark.parametrize(
    ("tz", "local_midnight_utc"),
    [
        ("Pacific/Auckland", datetime(2026, 10, 31, 11, 0, tzinfo=UTC)),  # 1 Nov 00:00 NZDT (+13)
        ("America/St_Johns", datetime(2026, 11, 1, 2, 30, tzinfo=UTC)),  # 1 Nov 00:00 NDT (-2:30)
        ("Asia/Kathmandu", datetime(2026, 10, 31, 18, 15, tzinfo=UTC)),  # +5:45, no DST
    ],
)
def test_a_month_closes_at_local_midnight_and_not_a_minute_before(tz: str, local_midnight_utc: datetime) -> None:
    october = periods.month_of(date(2026, 10, 15))
    assert october.window(tz)[1] == local_midnight_utc
    assert periods.last_closed("monthly", tz, local_midnight_utc - timedelta(minutes=1)) == periods.month_of(
        date(2026, 9, 1)
    )
    assert periods.last_closed("monthly", tz, local_midnight_utc) == october


def test_week_start_day_shapes_the_week_and_its_previous_and_last_year() -> None:
    week = periods.week_of(date(2026, 11, 12), "sunday")
    assert (week.start, week.end) == (date(2026, 11, 8), date(2026, 11, 15))
    assert week.previous() == periods.Period("weekly", date(2026, 11, 1), date(2026, 11, 8))
    assert week.year_before().start == date(2025, 11, 9) and week.year_before().start.weekday() == 6
    assert periods.week_of(date(2026, 11, 12)).start == date(2026, 11, 9)  # Monday by default
    assert periods.month_of(date(2026, 3, 31)).previous() == periods.Period(
        "monthly", date(2026, 2, 1), date(2026, 3, 1)
    )
    assert [p.start for p in periods.month_of(date(2026, 2, 1)).back(3)] == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]


def test_a_dst_week_is_seven_local_days_long() -> None:
    start, end = periods.week_of(date(2026, 10, 28)).window("Europe/London")  # 26 Oct..1 Nov: no clock change
    assert end - start == timedelta(days=7)
    start, end = periods.week_of(date(2026, 10, 21)).window("Europe/London")  # 19..25 Oct, clocks go back 25 Oct
    assert end - start == timedelta(days=7, hours=1)


def test_periods_parse_iso_weeks_months_and_days_with_clear_errors() -> None:
    assert periods.parse("weekly", "2026-W45") == periods.Period("weekly", date(2026, 11, 2), date(2026, 11, 9))
    assert periods.parse("weekly", "2026-W45", "sunday").start == date(2026, 11, 1)
    assert periods.parse("monthly", "2026-10") == periods.Period("monthly", date(2026, 10, 1), date(2026, 11, 1))
    assert periods.parse("weekly", "2026-11-12").start == date(2026, 11, 9)
    for bad, message in (
        ("2026-W54", "no such ISO week"),
        ("2026-13", "01 to 12"),
        ("Nov 2026", "YYYY-Www"),
        ("2026-02-30", "not a real date"),
    ):
        with pytest.raises(errors.InvalidInput, match=message):
            periods.parse("weekly" if "W" in bad else "monthly", bad)
    with pytest.raises(errors.InvalidInput, match="is a week"):
        periods.parse("monthly", "2026-W45")


def test_report_settings_default_to_both_reports_stored_and_refuse_bad_values_by_field() -> None:
    cfg = config.from_settings({})
    assert (cfg.weekly, cfg.monthly, cfg.week_start, cfg.recipients, cfg.webhook_url) == (
        True,
        True,
        "monday",
        [],
        None,
    )
    cfg = config.from_settings({"reports": {"recipients": [" a@b.example ", "a@b.example"], "monthly": False}})
    assert cfg.recipients == ["a@b.example"] and not cfg.wants("monthly")
    with pytest.raises(errors.InvalidInput) as caught:
        config.from_settings(
            {"reports": {"week_start": "funday", "webhook_url": "http://example.com/x", "colour": "pink"}}
        )
    message = str(caught.value)
    assert "reports.week_start" in message and "reports.webhook_url" in message and "https" in message
    assert "reports.colour" in message


def _figure(
    unit: str, value: float | int | None, previous: float | int | None, currency: str | None = None, key: str = "x"
) -> content.Figure:
    return content.Figure(key=key, label="x", unit=unit, currency=currency, value=value, previous=previous)


def test_numbers_are_written_exactly_and_changes_by_unit() -> None:
    assert text.value(_figure("money", 123456789, None, "GBP")) == "1,234,567.89 GBP"
    assert text.value(_figure("money", 1500, None, "JPY")) == "1,500 JPY"
    assert text.decimal(-1005, "KWD") == "-1.005" and text.decimal(5, "GBP") == "0.05"
    assert text.change(_figure("count", 12, 10), 10) == "+20%"
    assert text.change(_figure("count", 3, 0), 0) == "new"
    assert text.change(_figure("ratio", 0.25, 0.2), 0.2) == "+5.0 pts"
    assert text.change(_figure("score", 40, 30, key="nps"), 30) == "+10"
    assert text.change(_figure("count", 3, None), None) == text.NONE
    assert text.value(_figure("ratio", None, None)) == text.NONE
    assert text.name("") == "Not recorded" and text.name("wedding_fair") == "Wedding fair"


def test_webhook_signature_covers_timestamp_and_body_and_expires() -> None:
    secret = "whsec_test"
    header = delivery.signature(secret, 1_700_000_000, b'{"a":1}')
    assert delivery.verify(secret, header, b'{"a":1}', now=1_700_000_100)
    assert not delivery.verify(secret, header, b'{"a":2}', now=1_700_000_100)
    assert not delivery.verify("whsec_other", header, b'{"a":1}', now=1_700_000_100)
    assert not delivery.verify(secret, header, b'{"a":1}', now=1_700_001_000)  # too old
    assert not delivery.verify(secret, "v1=abc", b'{"a":1}')


def test_email_html_swaps_each_data_uri_chart_for_a_cid_reference() -> None:
    page = b'<img src="data:image/png;base64,iVBORw0K"><p>x</p><img src="data:image/png;base64,AAAA">'
    html, images = dispatch.email_parts(page)
    assert html == '<img src="cid:chart1@wedsync.report"><p>x</p><img src="cid:chart2@wedsync.report">'
    assert [cid for cid, _ in images] == ["chart1@wedsync.report", "chart2@wedsync.report"]
    assert images[1][1] == b"\x00\x00\x00"
