"""Report periods: weeks and months on an organization's own calendar (its zone and its week start day).

A period is a half-open range of local dates [start, end). It closes at local midnight of `end`; the instant
is computed in the organization's zone (DST-aware), so a Pacific/Auckland week closes about half a day before a
London one, and a run one minute before that midnight does not report the period yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from shared.core import errors
from shared.metrics import timeframes

Kind = Literal["weekly", "monthly"]
KINDS: tuple[Kind, ...] = ("weekly", "monthly")
WEEKDAYS = timeframes.WEEKDAYS  # one definition of the week for reports and dashboard series
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    kind: Kind
    start: date
    end: date  # exclusive

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def window(self, timezone: str) -> tuple[datetime, datetime]:
        """[start, end) instants of the period in the zone (local midnight to local midnight)."""
        return timeframes.local_window(timezone, self.start, self.last_day)

    def previous(self) -> Period:
        if self.kind == "weekly":
            return Period("weekly", self.start - timedelta(weeks=1), self.start)
        return month_of(self.start - timedelta(days=1))

    def year_before(self) -> Period:
        """The same period a year earlier: the week 52 weeks before (same weekdays), or the same month."""
        if self.kind == "weekly":
            return Period("weekly", self.start - timedelta(weeks=52), self.end - timedelta(weeks=52))
        return month_of(self.start.replace(year=self.start.year - 1))

    def back(self, n: int) -> list[Period]:
        """This period and the n-1 before it, oldest first (trend charts)."""
        out = [self]
        while len(out) < n:
            out.append(out[-1].previous())
        return out[::-1]

    def label(self) -> str:
        """For people: 'Week of 2 Nov 2026' or 'November 2026'."""
        if self.kind == "monthly":
            return self.start.strftime("%B %Y")
        return f"{self.start.day} {self.start:%b %Y} to {self.last_day.day} {self.last_day:%b %Y}"

    def short_label(self) -> str:
        return f"{self.start:%b %Y}" if self.kind == "monthly" else f"{self.start.day} {self.start:%b}"

    def code(self) -> str:
        """Stable code: '2026-10' for a month, the first day '2026-11-02' for a week."""
        return f"{self.start:%Y-%m}" if self.kind == "monthly" else self.start.isoformat()


def month_of(day: date) -> Period:
    start = day.replace(day=1)
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return Period("monthly", start, end)


def week_of(day: date, week_start: str = "monday") -> Period:
    offset = (day.weekday() - WEEKDAYS.index(week_start)) % 7
    start = day - timedelta(days=offset)
    return Period("weekly", start, start + timedelta(weeks=1))


def last_closed(kind: Kind, timezone: str, now: datetime, week_start: str = "monday") -> Period:
    """The latest period of this kind whose local end (midnight in `timezone`) is at or before `now`."""
    local_today = now.astimezone(ZoneInfo(timezone)).date()
    current = week_of(local_today, week_start) if kind == "weekly" else month_of(local_today)
    return current.previous()


def parse(kind: Kind | None, text: str, week_start: str = "monday") -> Period:
    """'2026-W45' (the organization's week that starts in ISO week 45), '2026-10' (a month), or a date
    '2026-11-01' (the week of the organization containing that day, or with kind monthly, its month)."""
    text = text.strip()
    if m := _ISO_WEEK.match(text):
        if kind == "monthly":
            raise errors.InvalidInput(f"period {text!r} is a week; a monthly report needs YYYY-MM such as 2026-10")
        try:
            monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError:
            raise errors.InvalidInput(f"period {text!r}: no such ISO week") from None
        # The organization's week that overlaps most with ISO week N starts on its week-start day nearest Monday.
        offset = (WEEKDAYS.index(week_start) - 7) if WEEKDAYS.index(week_start) > 3 else WEEKDAYS.index(week_start)
        start = monday + timedelta(days=offset)
        return Period("weekly", start, start + timedelta(weeks=1))
    if m := _MONTH.match(text):
        if kind == "weekly":
            raise errors.InvalidInput(f"period {text!r} is a month; a weekly report needs YYYY-Www such as 2026-W45")
        if not 1 <= int(m[2]) <= 12:
            raise errors.InvalidInput(f"period {text!r}: month must be 01 to 12")
        return month_of(date(int(m[1]), int(m[2]), 1))
    if _DAY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise errors.InvalidInput(f"period {text!r}: not a real date") from None
        return month_of(day) if kind == "monthly" else week_of(day, week_start)
    raise errors.InvalidInput(
        f"period {text!r} must be YYYY-Www (a week, such as 2026-W45), YYYY-MM (a month, such "
        "as 2026-10) or YYYY-MM-DD (the week or month containing that day)"
    )


def of(kind: Kind, period_start: date, week_start: str = "monday") -> Period:
    """The period of this kind containing `period_start` (so a period's own start gives itself)."""
    return month_of(period_start) if kind == "monthly" else week_of(period_start, week_start)
