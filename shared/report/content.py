"""What a report says: every number, computed through `shared.metrics` (the same layer the dashboard reads),
for one organization and one closed period, with the previous period and the same period a year earlier.

Money stays in integer minor units per currency from the database to the rendered text; nothing is summed
across currencies. Comparisons are null where the organization has no data yet for the compared period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from shared.core import db, errors
from shared.metrics import funnels, home, registry, rollups, seasons, weddings
from shared.report import periods

Unit = Literal["count", "money", "ratio", "score", "days"]
TREND_PERIODS = {"weekly": 12, "monthly": 12}
UPCOMING_MONTHS = 12


@dataclass(frozen=True)
class Organization:
    """An organization as a report sees it: its name, zone, default currency and settings (`reports` among them)."""

    id: UUID
    name: str
    timezone: str
    currency: str
    settings: dict[str, Any]
    created_at: datetime


def organization(conn: Connection[Any], org_id: UUID) -> Organization | None:
    """The organization, or None when it does not exist."""
    return db.fetch_one(conn, "report_organization", {"organization_id": org_id}, Organization)


class Figure(BaseModel):
    """One headline number and what it compares with (null: no data for that period)."""

    key: str
    label: str
    unit: Unit
    currency: str | None = None
    value: int | float | None
    previous: int | float | None = None
    last_year: int | float | None = None


class TrendPoint(BaseModel):
    period_start: date
    label: str
    inquiries: int
    bookings: int
    net_minor: dict[str, int] = Field(description="Net revenue per currency")


class LeadSource(BaseModel):
    source: str
    inquiries: int
    bookings: int
    booking_value_minor: dict[str, int]


class UpcomingMonth(BaseModel):
    month: date
    weddings: int
    value_minor: dict[str, int]


class Quality(BaseModel):
    received: int
    stored: int
    duplicates: int
    rejected: int
    refused: int
    dead_letters: int
    views_pending: bool
    stale_seconds: float
    views_refreshed_at: datetime | None


class ReportData(BaseModel):
    organization_id: UUID
    organization_name: str
    timezone: str
    currency: str
    kind: periods.Kind
    period_start: date
    period_end: date
    period_label: str
    previous_label: str
    last_year_label: str
    window_start: datetime
    window_end: datetime
    headline: list[Figure]
    revenue: list[rollups.CurrencyRevenue]
    home_revenue: home.HomeRevenue | None = Field(
        None, description="Revenue in the home currency at ECB rates (None in reports made before it existed)"
    )
    trend: list[TrendPoint]
    bookings: list[funnels.BookingStatus]
    funnel: funnels.Funnel
    lead_sources: list[LeadSource]
    upcoming: list[UpcomingMonth]
    season_pipeline: list[str] = Field(
        default_factory=list,
        description="Monthly reports: this season and the next by wedding date, as of the period's end "
        "(weddings.season_lines)",
    )
    lead_times: dict[str, funnels.LeadTimes]
    lead_times_label: str
    satisfaction: list[Figure]
    engagement: list[Figure]
    quality: Quality

    def period(self) -> periods.Period:
        return periods.Period(self.kind, self.period_start, self.period_end)


def _value(totals: rollups.Totals | None, name: str, currency: str | None = None) -> int | float | None:
    if totals is None:
        return None
    for v in totals.metrics[name]:
        if v.currency == currency:
            return v.value
    return 0 if registry.REGISTRY[name].unit == "money" else None


def _first_data(conn: Connection[Any], org_id: UUID) -> datetime | None:
    first: datetime | None = db.fetch_scalar(conn, "report_first_data", {"organization_id": org_id})
    return first


def _figure(
    key: str,
    label: str,
    unit: Unit,
    now: rollups.Totals,
    prev: rollups.Totals | None,
    year: rollups.Totals | None,
    currency: str | None = None,
    metric: str | None = None,
) -> Figure:
    name = metric or key
    return Figure(
        key=key if currency is None else f"{key}:{currency}",
        label=label,
        unit=unit,
        currency=currency,
        value=_value(now, name, currency),
        previous=_value(prev, name, currency),
        last_year=_value(year, name, currency),
    )


def build(conn: Connection[Any], org_id: UUID, period: periods.Period) -> ReportData:
    """Every number of the report for `period` (local dates in the organization's zone)."""
    org = organization(conn, org_id)
    if org is None:
        raise errors.NotFound(f"organization {org_id} does not exist")
    name, tz, currency = org.name, org.timezone, org.currency
    start, end = period.window(tz)
    first = _first_data(conn, org_id)

    def has_data(p: periods.Period) -> tuple[datetime, datetime] | None:
        s, e = p.window(tz)
        return (s, e) if first is not None and first < e else None

    prev_p, year_p = period.previous(), period.year_before()
    now_t = rollups.totals(conn, org_id, start, end)
    prev_w, year_w = has_data(prev_p), has_data(year_p)
    prev_t = rollups.totals(conn, org_id, *prev_w) if prev_w else None
    year_t = rollups.totals(conn, org_id, *year_w) if year_w else None

    funnel_now = funnels.funnel(conn, org_id, start, end)
    conversion = Figure(
        key="conversion_rate",
        label="Inquiry to booking",
        unit="ratio",
        value=funnel_now.conversion_rate,
        previous=funnels.funnel(conn, org_id, *prev_w).conversion_rate if prev_w else None,
        last_year=funnels.funnel(conn, org_id, *year_w).conversion_rate if year_w else None,
    )

    currencies = sorted(
        {
            v.currency
            for t in (now_t, prev_t, year_t)
            if t
            for v in t.metrics["revenue_net"] + t.metrics["booking_value"]
            if v.currency
        }
    )
    headline = [
        _figure("inquiries", "Inquiries", "count", now_t, prev_t, year_t),
        _figure("bookings", "Bookings", "count", now_t, prev_t, year_t),
        conversion,
    ]
    for cur in currencies:
        headline.append(_figure("revenue_net", "Revenue (net)", "money", now_t, prev_t, year_t, cur))
        headline.append(_figure("booking_value", "Value booked", "money", now_t, prev_t, year_t, cur))
    headline.append(_figure("cancellations", "Cancellations", "count", now_t, prev_t, year_t))

    trend = []
    for p in period.back(TREND_PERIODS[period.kind]):
        s, e = p.window(tz)
        t = rollups.totals(conn, org_id, s, e)
        trend.append(
            TrendPoint(
                period_start=p.start,
                label=p.short_label(),
                inquiries=int(_value(t, "inquiries") or 0),
                bookings=int(_value(t, "bookings") or 0),
                net_minor={v.currency: int(v.value or 0) for v in t.metrics["revenue_net"] if v.currency},
            )
        )

    sources: dict[str, LeadSource] = {}
    for metric in ("inquiries", "bookings", "booking_value"):
        for row in rollups.breakdown(conn, org_id, metric, "lead_source", start, end).rows:
            src = sources.setdefault(
                row.key, LeadSource(source=row.key, inquiries=0, bookings=0, booking_value_minor={})
            )
            if metric == "inquiries":
                src.inquiries += int(row.value or 0)
            elif metric == "bookings":
                src.bookings += int(row.value or 0)
            elif row.currency:
                src.booking_value_minor[row.currency] = int(row.value or 0)
    # Ranked by bookings, then by value booked in the organization's own currency (never summed across currencies).
    ranked = sorted(
        sources.values(), key=lambda s: (-s.bookings, -s.booking_value_minor.get(currency, 0), -s.inquiries, s.source)
    )

    # Every month of the coming year, quiet ones included (a gap in the calendar is worth seeing).
    upcoming: dict[date, UpcomingMonth] = {}
    last_month = period.end.replace(day=1)
    for _ in range(UPCOMING_MONTHS):
        upcoming[last_month] = UpcomingMonth(month=last_month, weddings=0, value_minor={})
        last_month = periods.month_of(last_month).end
    for wedding in db.fetch_all(
        conn,
        "report_upcoming_weddings",
        {"organization_id": org_id, "as_of": end, "from_date": period.end, "to_date": last_month},
        dict_row,
    ):
        slot = upcoming[wedding["month"]]
        slot.weddings += int(wedding["weddings"])
        slot.value_minor[wedding["currency"]] = int(wedding["value_minor"])

    # Lead times over the twelve months up to the period's end: a week holds too few bookings for a distribution.
    lt_end = periods.month_of(period.last_day).end
    lt_start = lt_end
    for _ in range(12):
        lt_start = periods.month_of(lt_start - timedelta(days=1)).start
    measures: tuple[Literal["inquiry_to_booking", "booking_to_wedding"], ...] = (
        "inquiry_to_booking",
        "booking_to_wedding",
    )
    lead_times = {m: funnels.lead_times(conn, org_id, m, lt_start, lt_end) for m in measures}

    satisfaction = [
        _figure("review_rating", "Average rating (1-5)", "score", now_t, prev_t, year_t),
        _figure("reviews_rated", "Reviews", "count", now_t, prev_t, year_t),
        _figure("nps", "Net Promoter Score", "score", now_t, prev_t, year_t),
        _figure("nps_responses", "NPS responses", "count", now_t, prev_t, year_t),
    ]
    rows: tuple[tuple[str, str, Unit], ...] = (
        ("emails_sent", "Emails sent", "count"),
        ("email_delivery_rate", "Email delivery rate", "ratio"),
        ("email_open_rate", "Email open rate", "ratio"),
        ("email_click_rate", "Email click rate", "ratio"),
        ("emails_replied", "Email replies", "count"),
        ("email_bounce_rate", "Email bounce rate", "ratio"),
        ("notifications_sent", "Notifications sent", "count"),
        ("notification_delivery_rate", "Notification delivery rate", "ratio"),
        ("notification_click_rate", "Notification click rate", "ratio"),
        ("journeys_started", "Journeys started", "count"),
        ("journeys_completed", "Journeys completed", "count"),
        ("journey_completion_rate", "Journey completion rate", "ratio"),
        ("form_submissions", "Forms submitted", "count"),
        ("form_completion_rate", "Form completion rate", "ratio"),
    )
    engagement = [_figure(k, label, unit, now_t, prev_t, year_t) for k, label, unit in rows]

    intake = db.fetch_one(
        conn, "report_intake_quality", {"organization_id": org_id, "start": start, "end": end}, dict_row
    )
    assert intake is not None
    fresh = funnels.freshness(conn, org_id)
    refreshed = [f.refreshed_at for f in fresh if f.refreshed_at]
    quality = Quality(
        **intake,
        views_pending=any(f.pending for f in fresh),
        stale_seconds=max((f.stale_seconds for f in fresh), default=0.0),
        views_refreshed_at=min(refreshed) if refreshed else None,
    )

    season_pipeline: list[str] = []
    if period.kind == "monthly":
        year = seasons.of(period.last_day, seasons.settings_month())
        first_day = seasons.bounds(year, seasons.settings_month())[0]
        last_day = seasons.bounds(year + 1, seasons.settings_month())[1] - timedelta(days=1)
        pipeline = weddings.answer(conn, org_id, "season", first_day, last_day, now=end - timedelta(microseconds=1))
        season_pipeline = weddings.season_lines(pipeline)

    return ReportData(
        organization_id=org_id,
        organization_name=name,
        timezone=tz,
        currency=currency,
        kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        period_label=period.label(),
        previous_label=prev_p.label(),
        last_year_label=year_p.label(),
        window_start=start,
        window_end=end,
        headline=headline,
        revenue=rollups.revenue(conn, org_id, start, end),
        home_revenue=home.revenue(conn, org_id, start, end),
        trend=trend,
        bookings=funnels.bookings(conn, org_id, start, end),
        funnel=funnel_now,
        lead_sources=ranked,
        upcoming=sorted(upcoming.values(), key=lambda u: u.month) if any(u.weddings for u in upcoming.values()) else [],
        season_pipeline=season_pipeline,
        lead_times=lead_times,
        lead_times_label=f"bookings made {lt_start:%b %Y} to {(lt_end - timedelta(days=1)):%b %Y}",
        satisfaction=satisfaction,
        engagement=engagement,
        quality=quality,
    )
