"""The dashboard API's questions: query-parameter models, their checks, and the window each one covers in the
organization's zone.

A question is parsed into one of these models (BadInput lists every wrong field, as the API answers them) and
`resolve` turns its `from`/`to` into [start, end) in UTC plus the previous period of the same length, so every
answer compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from shared.core import http as web
from shared.metrics import registry, seasons, timeframes

Interval = Literal["hour", "day", "week", "month"]
MAX_RANGE_DAYS = 3660  # ten years
# The longest window each interval may cover: keeps a series under ~1,100 points.
INTERVAL_MAX_DAYS: dict[str, int] = {"hour": 31, "day": 1100, "week": MAX_RANGE_DAYS, "month": MAX_RANGE_DAYS}
DEFAULT_DAYS = 30
# Dates the API accepts: wide enough for any wedding business's history and plans, narrow enough that every
# window, previous period and zone conversion stays far from the calendar's ends (year 1 and 9999).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)


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
    compare: str = "previous"


# ----- questions --------------------------------------------------------------------------------------------


def _in_range(day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{day.isoformat()} is outside the dates this API answers for: {FIRST_DAY} to {LAST_DAY}")


def _moment(value: Any) -> Any:
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        moment: date | datetime = (
            date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text.replace("Z", "+00:00"))
        )
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 date-time (e.g. 2026-11-01T09:30:00Z)"
        ) from None
    _in_range(moment.date() if isinstance(moment, datetime) else moment)
    return moment


def _day(value: date | None) -> date | None:
    if value is not None:
        _in_range(value)
    return value


class Window(BaseModel):
    """A period: `from`/`to` as local dates of the organization (`to` inclusive) or ISO date-times (`to`
    exclusive; without an offset they are read in the organization's zone), between 2000-01-01 and 2100-12-31.
    Default: the last 30 local days, today included."""

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


Compare = Literal["previous", "last_year", "season_to_date"]
COMPARE_DESCRIPTION = (
    "What the period is compared with. previous: the period of the same length just before; last_year: the same "
    "period 52 weeks (364 days) earlier, so weekdays line up (a Saturday with a Saturday); season_to_date: the "
    "period becomes the current wedding season up to `to` (from the season's first day, SEASON_START_MONTH; "
    "`from` is ignored), compared with the season before up to the same calendar day"
)


class OverviewQuery(Window):
    compare: Compare = Field("previous", description=COMPARE_DESCRIPTION)


class WeddingsQuery(BaseModel):
    """Weddings by wedding date: `from`/`to` are wedding dates (inclusive); default this season and the next."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    by: Literal["month", "season"] = Field("month", description="Group weddings by month or by season")
    from_: date | None = Field(None, alias="from", description="First wedding date (YYYY-MM-DD)")
    to: date | None = Field(None, description="Last wedding date, included (YYYY-MM-DD)")
    due_within: int = Field(30, ge=0, le=366, description="Balances due in the next N days")
    lead_days: int | None = Field(
        None, ge=0, le=365, description="Days before the wedding a balance is due (default BALANCE_DUE_LEAD_DAYS)"
    )

    _days = field_validator("from_", "to")(_day)

    def checks(self) -> list[web.FieldError]:
        if self.from_ and self.to and self.to < self.from_:
            return [web.FieldError(loc=["to"], type="window", msg="to must not be before from")]
        if self.from_ and self.to and (self.to - self.from_).days > MAX_RANGE_DAYS:
            return [web.FieldError(loc=["from"], type="window", msg=f"at most {MAX_RANGE_DAYS} days of weddings")]
        return []


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
    compare: Compare | None = Field(
        None,
        description="Also answer the comparison period's series (`comparison`); unset: none. " + COMPARE_DESCRIPTION,
    )
    currency: Literal["home"] | None = Field(
        None,
        description="home: a money metric as one series in the organization's home currency (ECB rate of each"
        " local day; interval day, week or month)",
    )

    def checks(self) -> list[web.FieldError]:
        if self.currency != "home":
            return []
        if registry.REGISTRY[self.metric].unit != "money":
            return [web.FieldError(loc=["currency"], type="currency", msg=f"{self.metric} is not a money metric")]
        if self.interval == "hour":
            return [web.FieldError(loc=["currency"], type="currency", msg="home converts at daily rates: not hourly")]
        return []


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
    problems = q.checks() if isinstance(q, (Window, WeddingsQuery)) else []
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
    compare = getattr(q, "compare", "previous")
    if compare == "season_to_date":
        return _season_to_date(tz, end)
    year = timedelta(days=364)  # 52 weeks: weekdays line up
    if not isinstance(first, datetime) and not isinstance(last, datetime):
        n = (last - first).days + 1
        prev = (
            timeframes.local_window(tz.key, first - year, last - year)
            if compare == "last_year"
            else timeframes.local_window(tz.key, first - timedelta(days=n), first - timedelta(days=1))
        )
    else:
        prev = (start - year, end - year) if compare == "last_year" else (start - (end - start), start)
    return Span(start, end, prev[0], prev[1], days, compare)


def _season_to_date(tz: ZoneInfo, end: datetime) -> Span:
    """From the first day of the season holding the period's last day to that day, against the season before up
    to the same calendar day."""
    month = seasons.settings_month()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    year = seasons.of(last, month)
    start, end = timeframes.local_window(tz.key, seasons.bounds(year, month)[0], last)
    prev = timeframes.local_window(tz.key, seasons.bounds(year - 1, month)[0], seasons.same_day_last_year(last))
    return Span(start, end, prev[0], prev[1], (end - start).total_seconds() / 86400, "season_to_date")


class ReportsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["weekly", "monthly"] | None = Field(default=None, description="Only this kind of report")
    before: date | None = Field(
        default=None, description="Only periods starting before this day (paging), 2000-01-01 to 2100-12-31"
    )
    limit: int = Field(default=50, ge=1, le=200)

    _before = field_validator("before")(_day)


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["json", "pdf", "html", "csv"] = Field(
        default="json", description="json: the report's record; pdf, html, csv: the file itself"
    )
