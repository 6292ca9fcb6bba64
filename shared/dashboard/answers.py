"""The dashboard API's questions and answers: query-parameter models, windows in the organization's zone,
answers computed by the metric layer under row-level security, and cached by data version.

Guarantees:
* Every query runs in one transaction as role `authenticated` with the caller's claims set
  (`request.jwt.claims`), so RLS limits it to the caller's organization even where SQL forgot to filter (the
  materialized views are read through organization-filtered views). The only read that leaves that role is the
  queue depths (not tenant data); see docs/dashboard.md.
* An answer is identified by (organization, data version, last view refresh, normalised question); the ETag is
  derived from it, so a cached answer or a 304 is never stale.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from shared.core import db, queries, queues, settings
from shared.core import http as web
from shared.dashboard import answercache, auth
from shared.metrics import registry, rollups, timeframes, views
from shared.report import access

Interval = Literal["hour", "day", "week", "month"]
MAX_RANGE_DAYS = 3660  # ten years
# The longest window each interval may cover: keeps a series under ~1,100 points.
INTERVAL_MAX_DAYS: dict[str, int] = {"hour": 31, "day": 1100, "week": MAX_RANGE_DAYS, "month": MAX_RANGE_DAYS}
DEFAULT_DAYS = 30


class BadInput(Exception):
    def __init__(self, fields: list[web.FieldError]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, f.loc))}: {f.msg}" for f in fields))
        self.fields = fields


def field_errors(exc: ValidationError) -> list[web.FieldError]:
    out = []
    for e in exc.errors():
        loc = [str(x) for x in e["loc"]] or ["query"]
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown query parameter"
        out.append(web.FieldError(loc=loc, msg=msg, type=e["type"]))
    return out


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime
    days: float


# ----- questions --------------------------------------------------------------------------------------------


def _moment(value: Any) -> Any:
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 date-time (e.g. 2026-11-01T09:30:00Z)"
        ) from None


class Window(BaseModel):
    """A period: `from`/`to` as local dates of the organization (`to` inclusive) or ISO date-times (`to`
    exclusive; without an offset they are read in the organization's zone). Default: the last 30 local days,
    today included."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date | datetime | None = Field(
        None,
        alias="from",
        description="First local day (YYYY-MM-DD), or an instant (ISO 8601) where the period starts",
        examples=["2026-10-01"],
    )
    to: date | datetime | None = Field(
        None,
        description="Last local day, included (YYYY-MM-DD), or an instant (ISO 8601) where the period ends, excluded",
        examples=["2026-10-31"],
    )

    _moments = field_validator("from_", "to", mode="before")(_moment)
    _span: Span | None = PrivateAttr(None)

    def checks(self) -> list[web.FieldError]:
        """Checks across fields that pydantic cannot place on one field."""
        return []

    @property
    def span(self) -> Span:
        assert self._span is not None, "resolve() the window first"
        return self._span


class OverviewQuery(Window):
    pass


class MetricQuery(Window):
    metric: str = Field(
        description="A metric name from GET /v1/metrics", json_schema_extra={"enum": list(sorted(registry.REGISTRY))}
    )

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in registry.REGISTRY:
            raise ValueError(f"unknown metric {value!r}; known metrics: {', '.join(sorted(registry.REGISTRY))}")
        return value


class TimeseriesQuery(MetricQuery):
    interval: Interval = Field("day", description="Period length; hour covers at most 31 days, day 1100 days")


class BreakdownQuery(MetricQuery):
    by: str = Field(description="A breakdown dimension the metric allows (see GET /v1/metrics)")

    def checks(self) -> list[web.FieldError]:
        allowed = registry.REGISTRY[self.metric].dimensions
        if self.by in allowed:
            return []
        return [
            web.FieldError(
                loc=["by"],
                type="breakdown",
                msg=(
                    f"{self.metric} cannot be broken down by {self.by!r}; allowed: {', '.join(sorted(allowed)) or 'none'}"
                ),
            )
        ]


class FunnelQuery(Window):
    pass


class RevenueQuery(Window):
    pass


class QualityQuery(Window):
    interval: Literal["hour", "day"] = Field("day", description="Period of the per-source counters")


class NoQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse(model: type[BaseModel], args: dict[str, str]) -> Any:
    """The query parameters as `model`; BadInput with one entry per wrong field otherwise."""
    try:
        q = model.model_validate(args)
    except ValidationError as exc:
        raise BadInput(field_errors(exc)) from None
    problems = q.checks() if isinstance(q, Window) else []
    if problems:
        raise BadInput(problems)
    return q


# ----- windows --------------------------------------------------------------------------------------------


def _instant(value: datetime, tz: ZoneInfo) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)


def resolve(q: Window, tz: ZoneInfo, interval: str | None = None, now: datetime | None = None) -> Span:
    """[start, end) of the question in UTC, and the previous period of the same length (the same number of
    local days when both ends are dates, so DST changes do not shift it)."""
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    first: date | datetime | None = q.from_
    last: date | datetime | None = q.to
    if last is None:
        last = first.date() if isinstance(first, datetime) and first.date() > today else today
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS if isinstance(last, datetime) else DEFAULT_DAYS - 1)
    start = _instant(first, tz) if isinstance(first, datetime) else timeframes.local_window(tz.key, first, first)[0]
    end = _instant(last, tz) if isinstance(last, datetime) else timeframes.local_window(tz.key, last, last)[1]
    if end <= start:
        raise BadInput(
            [
                web.FieldError(
                    loc=["from"],
                    type="window",
                    msg=(
                        f"from ({first}) must be before to ({last}); to is inclusive for dates, exclusive for date-times"
                    ),
                )
            ]
        )
    days = (end - start).total_seconds() / 86400
    if days > MAX_RANGE_DAYS + 1:
        raise BadInput(
            [
                web.FieldError(
                    loc=["from"],
                    type="window",
                    msg=f"the period covers {days:.0f} days; at most {MAX_RANGE_DAYS} allowed",
                )
            ]
        )
    if interval is not None and days > INTERVAL_MAX_DAYS[interval] + 0.05:  # + a DST hour
        raise BadInput(
            [
                web.FieldError(
                    loc=["interval"],
                    type="interval_too_fine",
                    msg=(
                        f"{interval} covers at most {INTERVAL_MAX_DAYS[interval]} days and the period has {days:.1f}; "
                        f"use a longer interval ({', '.join(k for k, v in INTERVAL_MAX_DAYS.items() if v >= days)})"
                    ),
                )
            ]
        )
    if not isinstance(first, datetime) and not isinstance(last, datetime):
        n = (last - first).days + 1
        prev = timeframes.local_window(tz.key, first - timedelta(days=n), first - timedelta(days=1))
    else:
        prev = (start - (end - start), start)
    return Span(start, end, prev[0], prev[1], days)


# ----- running as the viewer ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgState:
    id: UUID
    data_version: int
    tz: ZoneInfo
    currency: str
    refreshed_at: datetime | None

    @property
    def version(self) -> str:
        refreshed = self.refreshed_at.timestamp() if self.refreshed_at else 0
        return f"{self.data_version}.{refreshed:.6f}"


@contextlib.contextmanager
def as_viewer(viewer: auth.Viewer) -> Iterator[Connection[Any]]:
    """One transaction as role `authenticated` with the viewer's claims: RLS applies to every read."""
    with db.transaction(local=_viewer_locals(viewer)) as conn:
        yield conn


def _viewer_locals(viewer: auth.Viewer) -> dict[str, str]:
    # Set with the transaction's time limits in its first statement. JIT off: its compile time costs more than
    # it saves on these short queries; work_mem: room to hash distinct clients in memory. Role last.
    return {"request.jwt.claims": viewer.claims_json, "jit": "off", "work_mem": "32MB", "role": "authenticated"}


@contextlib.contextmanager
def owner_side(conn: Connection[Any]) -> Iterator[None]:
    """Leave the `authenticated` role for pipeline-wide reads that are not tenant rows (pgmq queue metrics)."""
    conn.execute("reset role")
    yield
    # Not in a `finally`: after an error the transaction rolls back, which restores the role anyway.
    conn.execute("set local role authenticated")


def state(conn: Connection[Any]) -> OrgState:
    row = conn.execute(queries.get("dashboard_state")).fetchone()
    if row is None:
        raise auth.AuthError(403, "the caller's organization does not exist")
    return OrgState(row[0], int(row[1]), ZoneInfo(row[2]), row[3], row[4])


@dataclass(frozen=True)
class Served:
    status: int
    body: bytes
    etag: str | None
    cache: str  # "memory", "redis", "miss" or "none"


Compute = Callable[[Connection[Any], OrgState, Any], BaseModel]


def serve(
    viewer: auth.Viewer,
    path: str,
    query: BaseModel,
    compute: Compute,
    if_none_match: str | None,
    *,
    cacheable: bool = True,
) -> Served:
    """Answer `query` for the viewer: 304 when the client's ETag is current, a cached body when there is one,
    otherwise compute it (in the same RLS transaction that read the version) and cache it."""
    with as_viewer(viewer) as conn:
        org = state(conn)
        if isinstance(query, Window):
            query._span = resolve(query, org.tz, getattr(query, "interval", None))
        normal = json.dumps({"path": path, **query.model_dump(mode="json", by_alias=True)}, sort_keys=True)
        if not cacheable:
            body = compute(conn, org, query).model_dump_json().encode()
            return Served(200, body, None, "none")
        # Relative defaults ("last 30 days") are resolved before keying, so the key changes at local midnight.
        window = f"{query.span.start.isoformat()}/{query.span.end.isoformat()}" if isinstance(query, Window) else ""
        k = answercache.key(str(org.id), org.version, normal, window)
        etag = f'"{k[:32]}"'
        if if_none_match and (
            etag in [t.strip().removeprefix("W/") for t in if_none_match.split(",")] or if_none_match.strip() == "*"
        ):
            return Served(304, b"", etag, "none")
        hit = answercache.cache.get(k)
        if hit is not None:
            return Served(200, hit[0], etag, hit[1])
        body = compute(conn, org, query).model_dump_json().encode()
    answercache.cache.put(k, body)
    return Served(200, body, etag, "miss")


# ----- answers ----------------------------------------------------------------------------------------------


class Change(BaseModel):
    metric: str
    unit: registry.Unit
    currency: str | None = Field(description="ISO 4217 for money metrics (one entry per currency), else null")
    value: int | float | None
    previous: int | float | None = Field(description="The same metric over the previous period of equal length")
    change: int | float | None = Field(description="value - previous (null if either is null)")
    change_ratio: float | None = Field(description="(value - previous) / previous; null if previous is 0 or null")


class Overview(BaseModel):
    timezone: str
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime
    metrics: list[Change]


class Catalog(BaseModel):
    metrics: list[registry.MetricInfo]
    intervals: dict[str, int] = Field(description="interval -> the longest period (days) it may cover")
    max_range_days: int


class FunnelAnswer(BaseModel):
    start: datetime
    end: datetime
    funnel: views.Funnel
    bookings: list[views.BookingStatus] = Field(description="Bookings made in the window and their fate")


class RevenueAnswer(BaseModel):
    start: datetime
    end: datetime
    currencies: list[rollups.CurrencyRevenue] = Field(description="Never converted or summed across currencies")


def overview(conn: Connection[Any], org: OrgState, q: OverviewQuery) -> Overview:
    span = q.span
    now = rollups.totals(conn, org.id, span.start, span.end)
    before = rollups.totals(conn, org.id, span.previous_start, span.previous_end)
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
    return Overview(
        timezone=org.tz.key,
        start=span.start,
        end=span.end,
        previous_start=span.previous_start,
        previous_end=span.previous_end,
        metrics=out,
    )


def timeseries(conn: Connection[Any], org: OrgState, q: TimeseriesQuery) -> rollups.Timeseries:
    span = q.span
    return rollups.timeseries(conn, org.id, q.metric, q.interval, span.start, span.end)


def breakdown(conn: Connection[Any], org: OrgState, q: BreakdownQuery) -> rollups.Breakdown:
    span = q.span
    return rollups.breakdown(conn, org.id, q.metric, q.by, span.start, span.end)


def funnel(conn: Connection[Any], org: OrgState, q: FunnelQuery) -> FunnelAnswer:
    span = q.span
    result = views.funnel(conn, org.id, span.start, span.end)
    booked = views.bookings(conn, org.id, span.start, span.end)
    return FunnelAnswer(start=span.start, end=span.end, funnel=result, bookings=booked)


def revenue(conn: Connection[Any], org: OrgState, q: RevenueQuery) -> RevenueAnswer:
    span = q.span
    return RevenueAnswer(start=span.start, end=span.end, currencies=rollups.revenue(conn, org.id, span.start, span.end))


def catalog() -> Catalog:
    return Catalog(metrics=registry.catalog(), intervals=INTERVAL_MAX_DAYS, max_range_days=MAX_RANGE_DAYS)


def queue_names() -> list[str]:
    conf = settings.get_settings()
    return [conf.ingest_queue, conf.aggregate_queue, conf.refresh_queue]


def queue_depths(conn: Connection[Any]) -> list[queues.QueueDepth]:
    with owner_side(conn):  # pgmq belongs to the pipeline; depths are counts, not tenant rows
        return [queues.depth(conn, name) for name in queue_names()]


# ----- reports (written by the report function; listed and downloaded here) --------------------------------


class ReportsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["weekly", "monthly"] | None = Field(default=None, description="Only this kind of report")
    before: date | None = Field(default=None, description="Only periods starting before this day (paging)")
    limit: int = Field(default=50, ge=1, le=200)


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["json", "pdf", "html", "csv"] = Field(
        default="json", description="json: the report's record; pdf, html, csv: the file itself"
    )


class ReportList(BaseModel):
    reports: list[access.ReportSummary]


def report_list(conn: Connection[Any], org: OrgState, q: ReportsQuery) -> ReportList:
    return ReportList(reports=access.list_reports(conn, org.id, kind=q.kind, before=q.before, limit=q.limit))


def report_record(report_id: UUID) -> Compute:
    def compute(conn: Connection[Any], org: OrgState, q: ReportQuery) -> access.ReportRecord:
        return access.get(conn, org.id, report_id)

    return compute


def report_file(viewer: auth.Viewer, report_id: UUID, fmt: str) -> tuple[bytes, str, str]:
    """A stored report file, read under the viewer's row-level security like every other answer."""
    with as_viewer(viewer) as conn:
        org = state(conn)
        return access.report_file(conn, org.id, report_id, fmt)
