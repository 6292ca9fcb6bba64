"""Wedding seasons: which season a date belongs to, its label and its days.

A season starts on the first day of `SEASON_START_MONTH` (settings; 1 by default, so a season is the calendar
year of the wedding date) and lasts twelve months. It is named after the year it starts in ("2027"), or after
both years when it straddles a new year ("2027-28").

API: settings_month() -> int; of(day, start_month) -> int (the season's start year); label(year, start_month);
bounds(year, start_month) -> (first day, first day of the next season); same_day_last_year(day).
"""

from __future__ import annotations

from datetime import date, timedelta

from shared.core import settings

_core = settings.cached(settings.CoreSettings)


def settings_month() -> int:
    """The configured first month of a season (SEASON_START_MONTH)."""
    return _core().season_start_month


def settings_lead_days() -> int:
    """Days before the wedding a balance is due (BALANCE_DUE_LEAD_DAYS)."""
    return _core().balance_due_lead_days


def of(day: date, start_month: int) -> int:
    """The start year of the season holding `day`."""
    return day.year if day.month >= start_month else day.year - 1


def label(year: int, start_month: int) -> str:
    """'2027' for calendar-year seasons, '2027-28' for seasons that straddle a new year."""
    return str(year) if start_month == 1 else f"{year}-{(year + 1) % 100:02d}"


def bounds(year: int, start_month: int) -> tuple[date, date]:
    """[first day, first day of the next season) of the season starting in `year`."""
    return date(year, start_month, 1), date(year + 1, start_month, 1)


def same_day_last_year(day: date) -> date:
    """The same calendar day a year earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def weekday_aligned_last_year(day: date) -> date:
    """The same weekday 52 weeks (364 days) earlier: a Saturday compares with a Saturday."""
    return day - timedelta(days=364)
