"""The dashboard API's route table: every endpoint with its query-parameter model and its answer model.

The dashboard function serves these routes and `openapi` documents them from this one table, so the document
cannot drift from the code and needs nothing from the function itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from shared.dashboard import answers, eventexport, pipelinestatus, questions
from shared.metrics import rollups, weddings
from shared.report import access


@dataclass(frozen=True)
class Endpoint:
    """One GET route of the API as the OpenAPI document describes it: its query model and its answer."""

    path: str
    summary: str
    query: type[BaseModel]
    answer: type[BaseModel] | None  # None: not JSON (a stream, `media`)
    cached: bool = True
    media: tuple[str, str] = (
        "text/event-stream",
        "Server-sent events: `event: change` per notice, heartbeat comments, `event: end` when the stream's maximum"
        " duration is reached",
    )


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "/v1/metrics",
        "The metric registry: names, descriptions, units, allowed breakdowns",
        questions.NoQuery,
        answers.Catalog,
    ),
    Endpoint(
        "/v1/organization",
        "The organization's zone, today's local date, week start and currency, and what the credential opens"
        " (never cached)",
        questions.NoQuery,
        answers.Organization,
        cached=False,
    ),
    Endpoint(
        "/v1/metrics/overview",
        "Every metric over the period, with the change against the previous period of the same length, the same "
        "period last year (weekday-aligned) or last season to date (?compare=)",
        questions.OverviewQuery,
        answers.Overview,
    ),
    Endpoint(
        "/v1/metrics/timeseries",
        "One metric per hour, day, week (from the organization's week_start) or month in its zone, empty periods filled",
        questions.TimeseriesQuery,
        rollups.Timeseries,
    ),
    Endpoint(
        "/v1/metrics/breakdown",
        "One metric per value of one of its dimensions, largest first",
        questions.BreakdownQuery,
        rollups.Breakdown,
    ),
    Endpoint(
        "/v1/funnel",
        "Clients whose first inquiry was in the period and how far they got; bookings "
        "made in the period and their fate",
        questions.FunnelQuery,
        answers.FunnelAnswer,
    ),
    Endpoint(
        "/v1/weddings",
        "Weddings by wedding month or season per currency: weddings booked, booked value, paid, outstanding; "
        "balances due in the next N days; pace against the season before at the same point",
        questions.WeddingsQuery,
        weddings.Weddings,
    ),
    Endpoint("/v1/revenue", "Gross, refunds and net per currency", questions.RevenueQuery, answers.RevenueAnswer),
    Endpoint(
        "/v1/quality",
        "Intake per source, rejection reasons, dead letters, queues, freshness (never cached)",
        questions.QualityQuery,
        pipelinestatus.Quality,
        cached=False,
    ),
    Endpoint(
        "/v1/reports",
        "The organization's weekly and monthly reports, newest period first (never cached)",
        questions.ReportsQuery,
        answers.ReportList,
        cached=False,
    ),
    Endpoint(
        "/v1/reports/{report_id}",
        "One report: its record (format=json) or a stored file (pdf, html, csv)",
        questions.ReportQuery,
        access.ReportRecord,
        cached=False,
    ),
    Endpoint(
        "/v1/export/events",
        "The organization's raw stored events (all of them without from/to) as gzipped CSV, streamed (never cached;"
        " not for share links)",
        eventexport.ExportQuery,
        None,
        cached=False,
        media=(
            eventexport.MEDIA_TYPE,
            "gzipped CSV (RFC 4180) with a header row: " + ",".join(eventexport.COLUMNS) + "; instants in UTC,"
            " properties as JSON, oldest first",
        ),
    ),
    Endpoint(
        "/v1/events/live",
        "Changes of the organization's data as server-sent events (follows its data version)",
        questions.NoQuery,
        None,
        cached=False,
    ),
]
