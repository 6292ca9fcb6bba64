"""Windows in an organization's own time zone: which instants a question covers, which part of it each rollup
tier answers, and the period keys a series is grouped by.

`start` and `end` are aware datetimes; rollup buckets whose start lies in [start floored to 15 minutes, end)
are counted, so local period boundaries (which are always on 15-minute boundaries) are exact and `end=now`
includes the current bucket. Whole local days come from the daily tier, partial days and hours from the
15-minute tier (`split`, docs/aggregation.md "Two tiers").

Weeks start on the organization's own first day (`settings.reports.week_start`, Monday by default), the same
day its weekly reports start on, so a weekly series and the weekly reports share their boundaries.

API: local_window(timezone, first_day, last_day) -> (start, end); split(tz, interval, start, end) -> Parts;
periods(tz, interval, start, end, week_start) -> period keys; load_org(conn, org_id) -> Org;
check_window(start, end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import dict_row

from shared.core import db, errors

Interval = Literal["hour", "day", "week", "month"]
MAX_POINTS = 10_000
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass
class Org:
    """The organization a question is about: its zone, default and home currencies and the first day of its
    week (the home currency is the default currency unless the organization chose another)."""

    id: UUID
    tz: ZoneInfo
    currency: str
    week_start: str = "monday"
    home: str | None = None

    @property
    def home_currency(self) -> str:
        return self.home or self.currency

    @property
    def week_shift(self) -> int:
        """Days to add to a local day so that ISO week truncation (Monday) finds the organization's week."""
        return (7 - WEEKDAYS.index(self.week_start)) % 7


def week_start_of(setting: Any) -> str:
    """The organization's first weekday from its raw setting; Monday when unset or not a weekday name (the
    report settings refuse such a value with a clear error; a dashboard answer still needs weeks)."""
    return setting if isinstance(setting, str) and setting in WEEKDAYS else "monday"


def load_org(conn: Connection[Any], org_id: UUID) -> Org:
    """The organization's zone, currency and week start; NotFound when it does not exist."""
    row = db.fetch_one(conn, "organization_zone", {"organization_id": org_id}, dict_row)
    if row is None:
        raise errors.NotFound(f"organization {org_id} does not exist")
    return Org(
        org_id, ZoneInfo(row["timezone"]), row["currency"], week_start_of(row["week_start"]), row["home_currency"]
    )


def check_window(start: datetime, end: datetime) -> None:
    """InvalidInput unless [start, end) is a non-empty window of aware instants."""
    if start.tzinfo is None or end.tzinfo is None:
        raise errors.InvalidInput("start and end must carry a UTC offset or zone")
    if end <= start:
        raise errors.InvalidInput("end must be after start")


def local_window(timezone: str, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """[start, end) instants of the local days first_day..last_day (inclusive) in an IANA zone: from local
    midnight of first_day to local midnight after last_day (DST-aware)."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(first_day, datetime.min.time(), tz)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class Parts:
    """A window [start, end) as the tiers answer it: the whole local days [first_day, end_day) from the daily
    tier, and the 15-minute buckets of [floor15(start), days_start) and [days_end, end) from the 15-minute tier
    (days_start/days_end: the first instants of first_day/end_day; both equal `end` when no day is whole)."""

    start: datetime
    end: datetime
    first_day: date
    end_day: date
    days_start: datetime
    days_end: datetime

    @property
    def whole_days_only(self) -> bool:
        """True when the window is exactly whole local days (no 15-minute head or tail)."""
        return self.first_day < self.end_day and self.days_start == _floor15(self.start) and self.days_end >= self.end

    def params(self, org: Org, interval: str) -> dict[str, Any]:
        return {
            "organization_id": org.id,
            "interval": interval,
            "tz": org.tz.key,
            "start": self.start,
            "end": self.end,
            "d1": self.first_day,
            "d2": self.end_day,
            "m1": self.days_start,
            "m2": self.days_end,
            "week_shift": org.week_shift if interval == "week" else 0,
        }


def _floor15(t: datetime) -> datetime:
    t = t.astimezone(UTC).replace(second=0, microsecond=0)
    return t - timedelta(minutes=t.minute % 15)


def _day_start(tz: ZoneInfo, day: date) -> datetime:
    """The first instant of a local day (at a DST gap at midnight, the instant the day's clocks start)."""
    return datetime.combine(day, datetime.min.time(), tz).astimezone(UTC)


def split(tz: ZoneInfo, interval: str, start: datetime, end: datetime) -> Parts:
    """Which part of [start, end) the daily tier answers: every local day whose buckets all lie in the window,
    unless the periods are hours (those come from 15-minute buckets only)."""
    s = _floor15(start)
    first = s.astimezone(tz).date()
    if _day_start(tz, first) < s:
        first += timedelta(days=1)
    last = end.astimezone(tz).date()  # the day holding `end`: days before it end by `end`
    if interval == "hour" or first >= last:
        return Parts(start, end, first, first, end, end)
    return Parts(start, end, first, last, _day_start(tz, first), _day_start(tz, last))


def periods(
    tz: ZoneInfo, interval: Interval, start: datetime, end: datetime, week_start: str = "monday"
) -> list[datetime]:
    """The period keys of [start, end) as the SQL groups them: naive UTC instants of local hour starts for
    'hour', naive local starts of days, weeks (starting on `week_start`) or months otherwise."""
    keys: list[datetime] = []
    if interval == "hour":
        t = start.astimezone(UTC).replace(second=0, microsecond=0)
        t -= timedelta(minutes=t.minute % 15)
        while t < end and len(keys) <= MAX_POINTS:
            key = (t - timedelta(minutes=t.astimezone(tz).minute)).replace(tzinfo=None)
            if not keys or keys[-1] != key:
                keys.append(key)
            t += timedelta(minutes=15)
        return keys
    local = start.astimezone(tz).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    if interval == "week":
        local -= timedelta(days=(local.weekday() - WEEKDAYS.index(week_start)) % 7)
    elif interval == "month":
        local = local.replace(day=1)
    last = (end - timedelta(microseconds=1)).astimezone(tz).replace(tzinfo=None)
    while local <= last and len(keys) <= MAX_POINTS:
        keys.append(local)
        if interval == "day":
            local += timedelta(days=1)
        elif interval == "week":
            local += timedelta(weeks=1)
        else:
            local = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    return keys
