"""The dashboard API's answers: what each endpoint computes from the metric layer for one organization.

Each answer function takes the viewer's connection (already under row-level security, see `serving`), the
organization's state and the parsed question, and returns a pydantic model: the API's response body.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID

from psycopg import Connection
from pydantic import BaseModel, Field

from shared.core import queues
from shared.dashboard import auth, questions, serving, sharelinks
from shared.dashboard import settings as dashboard_settings
from shared.metrics import funnels, fx, home, registry, rollups, weddings
from shared.report import access


class Change(BaseModel):
    metric: str
    unit: registry.Unit
    currency: str | None = Field(description="ISO 4217 for money metrics (one entry per currency), else null")
    value: int | float | None
    previous: int | float | None = Field(
        description="The same metric over the comparison period (previous_start to previous_end, see `compare`)"
    )
    change: int | float | None = Field(description="value - previous (null if either is null)")
    change_ratio: float | None = Field(description="(value - previous) / previous; null if previous is 0 or null")


class Overview(BaseModel):
    timezone: str
    start: datetime
    end: datetime
    previous_start: datetime = Field(description="Start of the comparison period")
    previous_end: datetime = Field(description="End of the comparison period")
    compare: questions.Compare = Field(
        "previous", description="What previous_start to previous_end is: " + questions.COMPARE_DESCRIPTION
    )
    metrics: list[Change]
    home_currency: home.HomeMetrics = Field(
        description="The money metrics in the organization's home currency (ECB rates; per-currency figures above"
        " stay the exact ones)"
    )
    home_currency_previous: home.HomeMetrics = Field(description="The same over the previous period")


class Catalog(BaseModel):
    metrics: list[registry.MetricInfo]
    intervals: dict[str, int] = Field(description="interval -> the longest period (days) it may cover")
    max_range_days: int


class FunnelAnswer(BaseModel):
    start: datetime
    end: datetime
    funnel: funnels.Funnel
    bookings: list[funnels.BookingStatus] = Field(description="Bookings made in the window and their fate")


class RevenueAnswer(BaseModel):
    start: datetime
    end: datetime
    currencies: list[rollups.CurrencyRevenue] = Field(description="Never converted or summed across currencies")
    home_currency: home.HomeRevenue = Field(
        description="Gross, refunds and net in the organization's home currency: payments at the ECB rate of their"
        " local day, refunds at the rate of the refund's day; currencies without a rate listed, not guessed"
    )


def _rates(conn: Connection[Any]) -> home.ReadRates:
    """Reads exchange rates owner-side: `fx_rates` is the pipeline's reference data, not a tenant's rows."""

    def read(pairs: Iterable[tuple[str, date]]) -> dict[tuple[str, date], fx.Rate | None]:
        wanted = set(pairs)
        if not wanted:  # nothing to convert (all money in the home currency): no role switch, no read
            return {}
        # One pipeline: the role switch travels with the read, the switch back with the commit of the pipeline.
        with conn.pipeline(), serving.owner_side(conn):
            return fx.lookup(conn, wanted)

    return read


def overview(conn: Connection[Any], org: serving.OrgState, q: questions.OverviewQuery) -> Overview:
    span = q.span
    zone = org.zone
    now = rollups.totals(conn, org.id, span.start, span.end, org=zone)
    before = rollups.totals(conn, org.id, span.previous_start, span.previous_end, org=zone)
    out: list[Change] = []
    for name, values in now.metrics.items():
        unit = registry.REGISTRY[name].unit
        prev = {v.currency: v.value for v in before.metrics.get(name, [])}
        currencies = [v.currency for v in values] + [c for c in prev if c not in {v.currency for v in values}]
        current = {v.currency: v.value for v in values}
        for cur in currencies:
            value, previous = current.get(cur, 0 if not registry.REGISTRY[name].over else None), prev.get(cur)
            change = None if value is None or previous is None else value - previous
            ratio = None if change is None or not previous else change / previous
            out.append(
                Change(
                    metric=name,
                    unit=unit,
                    currency=cur,
                    value=value,
                    previous=previous,
                    change=change,
                    change_ratio=ratio,
                )
            )
    home_now, home_before = home.metrics_over(
        conn, zone, [(span.start, span.end), (span.previous_start, span.previous_end)], _rates(conn)
    )
    return Overview(
        timezone=org.tz.key,
        start=span.start,
        end=span.end,
        previous_start=span.previous_start,
        previous_end=span.previous_end,
        compare=q.compare,
        metrics=out,
        home_currency=home_now,
        home_currency_previous=home_before,
    )


def timeseries(conn: Connection[Any], org: serving.OrgState, q: questions.TimeseriesQuery) -> rollups.Timeseries:
    span = q.span
    if q.currency == "home":
        return home.timeseries(conn, org.zone, q.metric, q.interval, span.start, span.end, _rates(conn))
    answer = rollups.timeseries(conn, org.id, q.metric, q.interval, span.start, span.end, org=org.zone)
    if q.compare is None:
        return answer
    before = rollups.timeseries(
        conn, org.id, q.metric, q.interval, span.previous_start, span.previous_end, org=org.zone
    )
    return answer.model_copy(
        update={
            "comparison": before.series,
            "comparison_start": span.previous_start,
            "comparison_end": span.previous_end,
        }
    )


def breakdown(conn: Connection[Any], org: serving.OrgState, q: questions.BreakdownQuery) -> rollups.Breakdown:
    span = q.span
    return rollups.breakdown(conn, org.id, q.metric, q.by, span.start, span.end, org=org.zone)


def funnel(conn: Connection[Any], org: serving.OrgState, q: questions.FunnelQuery) -> FunnelAnswer:
    span = q.span
    result = funnels.funnel(conn, org.id, span.start, span.end)
    booked = funnels.bookings(conn, org.id, span.start, span.end)
    return FunnelAnswer(start=span.start, end=span.end, funnel=result, bookings=booked)


def revenue(conn: Connection[Any], org: serving.OrgState, q: questions.RevenueQuery) -> RevenueAnswer:
    span = q.span
    zone = org.zone
    return RevenueAnswer(
        start=span.start,
        end=span.end,
        currencies=rollups.revenue(conn, org.id, span.start, span.end, org=zone),
        home_currency=home.revenue(conn, org.id, span.start, span.end, _rates(conn), org=zone),
    )


def wedding_axis(conn: Connection[Any], org: serving.OrgState, q: questions.WeddingsQuery) -> weddings.Weddings:
    return weddings.answer(conn, org.id, q.by, q.from_, q.to, due_within=q.due_within, lead_days=q.lead_days)


class Organization(BaseModel):
    """The calendar the page computes its periods in, and what the caller's credential opens."""

    timezone: str = Field(description="The organization's IANA zone: every local date of the API is in it")
    today: date = Field(description="Today's date in that zone")
    week_start: str = Field(description="The first day of the organization's week (weekly series start on it)")
    currency: str = Field(description="The organization's default currency (ISO 4217)")
    signed_in_as: Literal["jwt", "api_key", "share_link"] = Field(description="The kind of credential presented")
    admin: bool = Field(description="The credential is an API key with the 'admin' scope (dead letters, share links)")
    panels: list[str] = Field(description="The dashboard panels the credential opens (a share link may open fewer)")


def organization(viewer: auth.Viewer) -> serving.Compute:
    """The organization's calendar for this viewer (never cached: it names the caller's rights and today)."""

    def compute(conn: Connection[Any], org: serving.OrgState, q: questions.NoQuery) -> Organization:
        opened = sharelinks.PANELS if viewer.panels is None else viewer.panels
        return Organization(
            timezone=org.tz.key,
            today=datetime.now(UTC).astimezone(org.tz).date(),
            week_start=org.week_start,
            currency=org.currency,
            signed_in_as=viewer.via,
            admin="admin" in viewer.scopes,
            panels=[p for p in sharelinks.PANELS if p in opened],
        )

    return compute


def catalog() -> Catalog:
    return Catalog(
        metrics=registry.catalog(), intervals=questions.INTERVAL_MAX_DAYS, max_range_days=questions.MAX_RANGE_DAYS
    )


def queue_names() -> list[str]:
    conf = dashboard_settings.get()
    return [conf.ingest_queue, conf.aggregate_queue, conf.refresh_queue]


def queue_depths(conn: Connection[Any]) -> list[queues.QueueDepth]:
    with serving.owner_side(conn):  # pgmq belongs to the pipeline; depths are counts, not tenant rows
        return [queues.depth(conn, name) for name in queue_names()]


# ----- reports (written by the report function; listed and downloaded here) --------------------------------


class ReportList(BaseModel):
    reports: list[access.ReportSummary]


def report_list(conn: Connection[Any], org: serving.OrgState, q: questions.ReportsQuery) -> ReportList:
    return ReportList(reports=access.list_reports(conn, org.id, kind=q.kind, before=q.before, limit=q.limit))


def report_record(report_id: UUID) -> serving.Compute:
    def compute(conn: Connection[Any], org: serving.OrgState, q: questions.ReportQuery) -> access.ReportRecord:
        return access.get(conn, org.id, report_id)

    return compute


def report_file(viewer: auth.Viewer, report_id: UUID, fmt: str) -> tuple[bytes, str, str]:
    """A stored report file, read under the viewer's row-level security like every other answer."""
    with serving.as_viewer(viewer) as conn:
        org = serving.state(conn)
        return access.report_file(conn, org.id, report_id, fmt)
