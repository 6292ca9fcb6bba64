from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from shared.metrics import registry, timeframes
from shared.report import periods


def test_hours_in_a_quarter_hour_zone_start_at_local_whole_hours() -> None:
    eucla = ZoneInfo("Australia/Eucla")  # +08:45
    keys = timeframes.periods(
        eucla, "hour", datetime(2026, 3, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    )
    labels = [k.replace(tzinfo=UTC).astimezone(eucla).strftime("%H:%M") for k in keys]
    assert labels == ["08:00", "09:00", "10:00", "11:00"]


def test_a_spring_forward_day_has_23_hours_and_a_fall_back_day_25() -> None:
    adelaide = ZoneInfo("Australia/Adelaide")
    # DST starts 2026-10-04 02:00 -> 03:00 and ends 2026-04-05 03:00 -> 02:00 in Adelaide.
    for day, hours in ((datetime(2026, 10, 4), 23), (datetime(2026, 4, 5), 25)):
        start = day.replace(tzinfo=adelaide)
        end = day.replace(day=day.day + 1, tzinfo=adelaide)
        assert len(timeframes.periods(adelaide, "hour", start, end)) == hours


def test_weeks_start_on_monday_and_months_on_the_first_in_the_local_zone() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    start, end = (
        datetime(2026, 1, 31, 20, 0, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
    )  # 1 Feb 01:30 local
    weeks = timeframes.periods(kolkata, "week", start, end)
    assert weeks[0] == datetime(2026, 1, 26) and all(w.weekday() == 0 for w in weeks)
    assert timeframes.periods(kolkata, "month", start, end) == [datetime(2026, 2, 1), datetime(2026, 3, 1)]
    assert timeframes.periods(kolkata, "day", start, end)[0] == datetime(2026, 2, 1)


def test_every_metric_declares_a_unit_a_description_and_only_known_columns() -> None:
    assert {"revenue_net", "nps", "active_clients", "form_completion_rate", "email_bounce_rate"} <= set(
        registry.REGISTRY
    )
    for metric in registry.REGISTRY.values():
        assert metric.description and metric.unit
        assert set(metric.dimensions.values()) <= {"dim1", "dim2", "currency"}
        assert metric.per_currency == ("currency" in metric.dimensions)
    with pytest.raises(Exception, match="known metrics"):
        registry.get("revenue")


def test_a_local_window_runs_from_local_midnight_to_local_midnight_across_dst() -> None:
    start, end = timeframes.local_window("America/St_Johns", datetime(2026, 11, 1).date(), datetime(2026, 11, 1).date())
    assert start == datetime(2026, 11, 1, 2, 30, tzinfo=UTC)  # midnight at -02:30 (summer time)
    assert end == datetime(2026, 11, 2, 3, 30, tzinfo=UTC)  # next midnight at -03:30: a 25-hour day
    entries = {m.name: m for m in registry.catalog()}
    assert entries["revenue_net"].per_currency and entries["revenue_net"].dimensions == ["currency"]
    assert entries["inquiries"].dimensions == ["channel", "lead_source"]


@pytest.mark.parametrize("week_start", timeframes.WEEKDAYS)
def test_weekly_period_keys_are_the_organizations_report_weeks_for_every_week_start(week_start: str) -> None:
    auckland = ZoneInfo("Pacific/Auckland")
    start, end = timeframes.local_window("Pacific/Auckland", date(2026, 9, 3), date(2026, 11, 20))
    keys = timeframes.periods(auckland, "week", start, end, week_start)
    first = periods.week_of(date(2026, 9, 3), week_start).start
    assert [k.date() for k in keys] == [first + timedelta(weeks=n) for n in range(len(keys))]
    assert keys[-1].date() == periods.week_of(date(2026, 11, 20), week_start).start
    assert all(k.strftime("%A").lower() == week_start for k in keys)
    shift = timeframes.Org(id=uuid4(), tz=auckland, currency="NZD", week_start=week_start).week_shift
    assert (keys[0] + timedelta(days=shift)).weekday() == 0  # what the SQL truncates to Monday
