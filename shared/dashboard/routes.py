"""The dashboard API's route table: every endpoint with its query-parameter model and its answer model.

The dashboard function serves these routes and `openapi` documents them from this one table, so the document
cannot drift from the code and needs nothing from the function itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from shared.dashboard import answers, pipelinestatus, questions
from shared.metrics import rollups
from shared.report import access


@dataclass(frozen=True)
class Endpoint:
    """One GET route of the API as the OpenAPI document describes it: its query model and its answer."""

    path: str
    summary: str
    query: type[BaseModel]
    answer: type[BaseModel] | None  # None: not JSON (the event stream)
    cached: bool = True


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
        "Every metric over the period, with the change against the previous period of the same length",
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
        "/v1/events/live",
        "Changes of the organization's data as server-sent events (follows its data version)",
        questions.NoQuery,
        None,
        cached=False,
    ),
]
