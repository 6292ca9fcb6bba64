"""CSV representations of the dashboard API's answers, and the choice between JSON and CSV for a request.

An answer is computed once (by the same answer function as its JSON) and only rendered here, so the CSV and the
JSON always hold the same numbers. Each answer model has one table with a fixed header (its columns never depend
on the data); answers with several panels (funnel, quality) have a `section` column naming the panel of each row.
Money stays in minor units beside a `currency` column; instants are ISO 8601 in the organization's zone; quoting
follows RFC 4180 (the csv module, CRLF line ends).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from shared.dashboard import answers, pipelinestatus
from shared.metrics import rollups, weddings

Format = Literal["json", "csv"]
MEDIA_TYPE = "text/csv"
REVENUE_KINDS = ("deposit", "instalment", "balance", "other")


class Unsupported(Exception):
    """The request asks for a representation this endpoint does not have."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def negotiate(format_param: str | None, accept: str | None) -> Format:
    """`?format=` (json or csv) wins; otherwise the Accept header: CSV when it names text/csv before JSON,
    JSON for anything that admits it (or no header). Unsupported(400) for another format, (406) for an Accept
    that admits neither."""
    if format_param is not None:
        if format_param in ("json", "csv"):
            return format_param  # type: ignore[return-value]
        raise Unsupported(400, f"format must be json or csv, not {format_param!r}")
    if not accept or not accept.strip():
        return "json"
    ranges: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for p in params:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            ranges.append((-q, i, media.lower()))
    for _, _, media in sorted(ranges):
        if media == MEDIA_TYPE:
            return "csv"
        if media in ("application/json", "application/*", "*/*"):
            return "json"
        if media == "text/*":
            return "csv"
    raise Unsupported(406, f"this endpoint answers application/json or {MEDIA_TYPE}, not {accept!r}")


def filename(path: str, first: date | None, last: date | None) -> str:
    """`<endpoint>-<from>-<to>.csv`: the endpoint's path without /v1/, the window's first and last local day."""
    stem = path.removeprefix("/v1/").strip("/").replace("/", "-")
    return f"{stem}-{first.isoformat()}-{last.isoformat()}.csv" if first and last else f"{stem}.csv"


# ----- tables ------------------------------------------------------------------------------------------------

Rows = Iterable[dict[str, Any]]


def _overview(a: answers.Overview) -> Rows:
    span = {
        "start": a.start,
        "end": a.end,
        "previous_start": a.previous_start,
        "previous_end": a.previous_end,
        "compare": a.compare,
    }
    return ({**span, **c.model_dump()} for c in a.metrics)


def _timeseries(a: rollups.Timeseries) -> Rows:
    head = {"metric": a.metric, "unit": a.unit, "interval": a.interval}
    return ({**head, "currency": s.currency, "start": p.start, "value": p.value} for s in a.series for p in s.points)


def _breakdown(a: rollups.Breakdown) -> Rows:
    return ({"metric": a.metric, "unit": a.unit, "by": a.by, **r.model_dump()} for r in a.rows)


def _revenue(a: answers.RevenueAnswer) -> Rows:
    for c in a.currencies:
        kinds = {f"{k}_minor": c.by_kind_minor.get(k, 0) for k in REVENUE_KINDS}
        other = sum(v for k, v in c.by_kind_minor.items() if k not in REVENUE_KINDS)
        kinds["other_minor"] += other
        yield {"start": a.start, "end": a.end, **c.model_dump(exclude={"by_kind_minor"}), **kinds}


def _funnel(a: answers.FunnelAnswer) -> Rows:
    head = {
        "start": a.start,
        "end": a.end,
        "conversion_rate": a.funnel.conversion_rate,
        "median_days_to_book": a.funnel.median_days_to_book,
        "mean_days_to_book": a.funnel.mean_days_to_book,
    }
    yield from ({**head, "section": "stage", **s.model_dump()} for s in a.funnel.stages)
    yield from ({**head, "section": "bookings", **b.model_dump()} for b in a.bookings)


def _quality(a: pipelinestatus.Quality) -> Rows:
    head = {
        "start": a.start,
        "end": a.end,
        "interval": a.interval,
        "dead_letters_waiting": a.dead_letters_waiting,
        "oldest_dead_letter_at": a.oldest_dead_letter_at,
        "newest_event_at": a.freshness.newest_event_at,
        "newest_aggregated_at": a.freshness.newest_aggregated_at,
        "age_seconds": a.freshness.age_seconds,
    }
    yield {**head, "section": "summary"}
    yield from ({**head, "section": "source_period", **s.model_dump(), "period_start": s.start} for s in a.sources)
    yield from ({**head, "section": "source_total", **s.model_dump(), "period_start": s.start} for s in a.totals)
    yield from ({**head, "section": "rejection", **r.model_dump()} for r in a.rejection_reasons)
    yield from ({**head, "section": "queue", **q.model_dump()} for q in a.queues)
    yield from ({**head, "section": "view", **v.model_dump()} for v in a.freshness.views)
    yield from (
        {**head, "section": "check", **c.model_dump(exclude={"organization_id", "value"}), "check_value": c.value}
        for c in a.checks
    )


def _weddings(a: weddings.Weddings) -> Rows:
    head = {"by": a.by, "today": a.today}
    yield from ({**head, "section": "period", **p.model_dump()} for p in a.periods)
    due = {"within_days": a.due.within_days, "lead_days": a.due.lead_days, "due_from": a.due.due_from}
    yield from ({**head, "section": "due", **due, "due_to": a.due.due_to, **d.model_dump()} for d in a.due.balances)
    yield from ({**head, "section": "pace", **p.model_dump(), "period": p.season} for p in a.pace)
    yield from ({**head, "section": "unassigned", **u.model_dump()} for u in a.unassigned)


def _catalog(a: answers.Catalog) -> Rows:
    for m in a.metrics:
        yield {**m.model_dump(), "dimensions": " ".join(m.dimensions)}


def _reports(a: answers.ReportList) -> Rows:
    for r in a.reports:
        yield {**r.model_dump(exclude={"headline"}), "formats": " ".join(r.formats), "headline": r.headline}


def _organization(a: answers.Organization) -> Rows:
    yield {**a.model_dump(), "panels": " ".join(a.panels)}


def _names(text: str) -> list[str]:
    return text.split()


# Answer model -> (columns, rows). Columns are fixed here: the header is stable whatever the data.
TABLES: dict[type[BaseModel], tuple[list[str], Callable[[Any], Rows]]] = {
    answers.Overview: (
        _names("start end previous_start previous_end metric unit currency value previous change change_ratio compare"),
        _overview,
    ),
    rollups.Timeseries: (_names("metric unit interval currency start value"), _timeseries),
    rollups.Breakdown: (_names("metric unit by key currency value"), _breakdown),
    answers.RevenueAnswer: (
        _names("start end currency gross_minor refunds_minor net_minor payments")
        + [f"{k}_minor" for k in REVENUE_KINDS],
        _revenue,
    ),
    answers.FunnelAnswer: (
        _names(
            "start end section stage clients rate_from_previous rate_from_inquiry currency bookings cancelled "
            "net_bookings value_minor net_value_minor conversion_rate median_days_to_book mean_days_to_book"
        ),
        _funnel,
    ),
    pipelinestatus.Quality: (
        _names(
            "start end interval section period_start source received stored duplicates rejected ignored refused "
            "stage kind field example occurrences payloads queue length oldest_age_seconds "
            "view pending changed_at refreshed_at refresh_ms stale_seconds "
            "check subject status check_value threshold unit message "
            "dead_letters_waiting oldest_dead_letter_at newest_event_at newest_aggregated_at age_seconds"
        ),
        _quality,
    ),
    answers.Catalog: (_names("name description unit dimensions per_currency definition"), _catalog),
    weddings.Weddings: (
        _names(
            "by today section period first_day last_day currency weddings booked_minor paid_minor outstanding_minor "
            "cancelled within_days lead_days due_from due_to as_of last_season last_as_of last_weddings "
            "last_booked_minor change_weddings change_ratio bookings"
        ),
        _weddings,
    ),
    answers.Organization: (_names("timezone today week_start currency signed_in_as admin panels"), _organization),
    answers.ReportList: (
        _names("id kind period_start period_end title status formats generated_at delivery_status last_error headline"),
        _reports,
    ),
}


def columns(model: type[BaseModel]) -> list[str]:
    return TABLES[model][0]


def _cell(value: Any, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def render(answer: BaseModel, tz: ZoneInfo) -> bytes:
    """The answer as CSV: a header row, then one row per record (UTF-8, RFC 4180)."""
    cols, rows = TABLES[type(answer)]
    out = io.StringIO()
    writer = csv.writer(out)  # the default dialect is RFC 4180: quote when needed, "" inside quotes, CRLF
    writer.writerow(cols)
    for row in rows(answer):
        writer.writerow([_cell(row.get(c), tz) for c in cols])
    return out.getvalue().encode()
