"""The metric layer the dashboard and the reports read: one registry of business metrics and typed queries.

Every metric has a name, a description, a unit and the breakdown dimensions it allows (`REGISTRY`). Simple
sums come from the rollups and are exact in the organization's own time zone for any hour, day, ISO week
(Monday) or month: whole local days from the daily tier, partial days and hours from the 15-minute tier
(`split`, docs/aggregation.md "Two tiers"). Distinct active clients are exact too (client-day firsts for whole
days). Money is always kept per currency and never summed across currencies. Funnel, cohorts and lead-time
distributions come from the organization-filtered views over the materialized views (refreshed within seconds
of a change; `freshness` says how stale they are).

Windows: `start` and `end` are aware datetimes; rollup buckets whose start lies in [start floored to 15
minutes, end) are counted, so local period boundaries (which are always on 15-minute boundaries) are exact and
`end=now` includes the current bucket. Every function takes the caller's connection and reads one organization
only.

API (all return pydantic models):
    totals(conn, org_id, start, end) -> Totals
    timeseries(conn, org_id, metric, interval, start, end) -> Timeseries   # empty periods filled
    breakdown(conn, org_id, metric, by, start, end) -> Breakdown
    revenue(conn, org_id, start, end) -> list[CurrencyRevenue]
    bookings(conn, org_id, start, end) -> list[BookingStatus]              # cancellations, net bookings
    funnel(conn, org_id, start, end) -> Funnel                 # inquiry > booking > deposit > balance
    cohorts(conn, org_id, start_month, end_month) -> list[Cohort]
    lead_times(conn, org_id, measure, start_month, end_month) -> LeadTimes
    freshness(conn, org_id) -> list[ViewFreshness]
    catalog() -> list[MetricInfo]; get(name) -> Metric
    local_window(timezone, first_day, last_day) -> (start, end)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection
from pydantic import BaseModel, ConfigDict, Field

from shared.core import errors, queries

Unit = Literal["count", "money", "ratio", "score", "milliseconds", "days"]
Interval = Literal["hour", "day", "week", "month"]
Column = Literal["dim1", "dim2", "currency"]
Field_ = Literal["events", "amount_minor", "value_sum", "value_count"]
_FIELDS: tuple[Field_, ...] = ("events", "amount_minor", "value_sum", "value_count")
_MAX_POINTS = 10_000


@dataclass(frozen=True)
class Part:
    """A sum over the rollup rows of one source metric (optionally only rows whose dim2 equals `dim2`)."""

    source: str
    field: Field_ = "events"
    dim2: str | None = None


class Metric(BaseModel):
    """One business metric: value = (sum(plus) - sum(minus)) [/ sum(over) * scale]."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    description: str
    unit: Unit
    dimensions: dict[str, Column] = Field(default_factory=dict, description="breakdown name -> rollup column")
    plus: tuple[Part, ...]
    minus: tuple[Part, ...] = ()
    over: tuple[Part, ...] = ()
    scale: float = 1.0
    per_currency: bool = False

    @cached_property
    def sources(self) -> frozenset[str]:
        return frozenset(p.source for p in (*self.plus, *self.minus, *self.over))


REGISTRY: dict[str, Metric] = {}


def _m(
    name: str,
    description: str,
    unit: Unit,
    plus: tuple[Part, ...],
    *,
    dims: dict[str, Column] | None = None,
    minus: tuple[Part, ...] = (),
    over: tuple[Part, ...] = (),
    scale: float = 1.0,
) -> None:
    per_currency = unit == "money" or any(p.field == "amount_minor" for p in plus)
    dimensions = dict(dims or {})
    if per_currency:
        dimensions["currency"] = "currency"
    REGISTRY[name] = Metric(
        name=name,
        description=description,
        unit=unit,
        dimensions=dimensions,
        plus=plus,
        minus=minus,
        over=over,
        scale=scale,
        per_currency=per_currency,
    )


def _count(name: str, source: str, description: str, dims: dict[str, Column] | None = None) -> None:
    _m(name, description, "count", (Part(source),), dims=dims)


def _rate(name: str, num: str, den: str, description: str, dims: dict[str, Column] | None = None) -> None:
    _m(name, description, "ratio", (Part(num),), over=(Part(den),), dims=dims)


_LEAD: dict[str, Column] = {"lead_source": "dim1", "channel": "dim2"}
_BOOKING: dict[str, Column] = {"package": "dim1", "lead_source": "dim2"}
_PAYMENT: dict[str, Column] = {"kind": "dim1", "method": "dim2"}
_EMAIL: dict[str, Column] = {"template": "dim1", "campaign": "dim2"}
_NOTIFY: dict[str, Column] = {"template": "dim1", "channel": "dim2"}
_JOURNEY: dict[str, Column] = {"journey": "dim1"}

_count("inquiries", "inquiry.received", "Inquiries received", _LEAD)
_count("new_clients", "client.created", "Clients created", {"lead_source": "dim1"})
_count("bookings", "booking.confirmed", "Bookings confirmed (cancelled ones included)", _BOOKING)
_m("booking_value", "Value of bookings confirmed", "money", (Part("booking.confirmed", "amount_minor"),), dims=_BOOKING)
_m(
    "average_booking_value",
    "Booking value / bookings, per currency",
    "money",
    (Part("booking.confirmed", "amount_minor"),),
    over=(Part("booking.confirmed"),),
    dims=_BOOKING,
)
_count("cancellations", "booking.cancelled", "Bookings cancelled (counted when the cancellation happened)")
_m(
    "net_bookings",
    "Bookings confirmed minus bookings cancelled in the window",
    "count",
    (Part("booking.confirmed"),),
    minus=(Part("booking.cancelled"),),
)
_count(
    "weddings_booked",
    "booking.wedding_month",
    "Bookings by the month of the wedding (seasonality)",
    {"wedding_month": "dim1", "lead_source": "dim2"},
)
_m(
    "booking_to_wedding_days",
    "Average days from the booking's local date to the wedding",
    "days",
    (Part("booking.wedding_month", "value_sum"),),
    over=(Part("booking.wedding_month", "value_count"),),
    dims={"wedding_month": "dim1", "lead_source": "dim2"},
)
_count("payments", "payment.succeeded", "Successful payments", _PAYMENT)
_m(
    "revenue_gross",
    "Money received by successful payments",
    "money",
    (Part("payment.succeeded", "amount_minor"),),
    dims=_PAYMENT,
)
_m("refunds", "Money refunded", "money", (Part("payment.refunded", "amount_minor"),))
_m(
    "revenue_net",
    "Gross revenue minus refunds",
    "money",
    (Part("payment.succeeded", "amount_minor"),),
    minus=(Part("payment.refunded", "amount_minor"),),
)
_count("payments_failed", "payment.failed", "Failed payment attempts", {"kind": "dim1", "failure_code": "dim2"})
_count("form_starts", "form.started", "Forms started", {"form": "dim1"})
_count("form_submissions", "form.submitted", "Forms submitted", {"form": "dim1"})
_rate("form_completion_rate", "form.submitted", "form.started", "Submissions / starts", {"form": "dim1"})
for _what in ("sent", "delivered", "opened", "clicked", "bounced", "complained", "replied"):
    _count(f"emails_{_what}", f"email.{_what}", f"Emails {_what}", _EMAIL)
_rate("email_delivery_rate", "email.delivered", "email.sent", "Emails delivered / sent", _EMAIL)
_rate("email_open_rate", "email.opened", "email.delivered", "Emails opened / delivered", _EMAIL)
_rate("email_click_rate", "email.clicked", "email.delivered", "Emails clicked / delivered", _EMAIL)
_rate("email_bounce_rate", "email.bounced", "email.sent", "Emails bounced / sent", _EMAIL)
for _what in ("sent", "delivered", "failed", "opened", "clicked"):
    _count(f"notifications_{_what}", f"notification.{_what}", f"Notifications {_what}", _NOTIFY)
_rate("notification_delivery_rate", "notification.delivered", "notification.sent", "Delivered / sent", _NOTIFY)
_rate("notification_failure_rate", "notification.failed", "notification.sent", "Failed / sent", _NOTIFY)
_rate("notification_open_rate", "notification.opened", "notification.delivered", "Opened / delivered", _NOTIFY)
_rate("notification_click_rate", "notification.clicked", "notification.delivered", "Clicked / delivered", _NOTIFY)
_count("journeys_started", "journey.started", "Journey runs started", _JOURNEY)
_count("journeys_completed", "journey.completed", "Journey runs completed", _JOURNEY)
_count("journeys_abandoned", "journey.abandoned", "Journey runs abandoned", _JOURNEY)
_count(
    "journey_steps_completed", "journey.step_completed", "Journey steps completed", {"journey": "dim1", "step": "dim2"}
)
_rate("journey_completion_rate", "journey.completed", "journey.started", "Runs completed / started", _JOURNEY)
_m(
    "journey_duration",
    "Average duration of completed runs that reported one",
    "milliseconds",
    (Part("journey.completed", "value_sum"),),
    over=(Part("journey.completed", "value_count"),),
    dims=_JOURNEY,
)
_count("reviews_rated", "review.rating", "Reviews with a star rating", {"platform": "dim1"})
_m(
    "review_rating",
    "Average star rating (1 to 5)",
    "score",
    (Part("review.rating", "value_sum"),),
    over=(Part("review.rating", "value_count"),),
    dims={"platform": "dim1"},
)
_count("nps_responses", "review.nps", "Reviews with an NPS score", {"platform": "dim1"})
_m(
    "nps",
    "Net Promoter Score: % promoters (9-10) minus % detractors (0-6), -100 to 100",
    "score",
    (Part("review.nps", "events", "promoter"),),
    minus=(Part("review.nps", "events", "detractor"),),
    over=(Part("review.nps"),),
    scale=100.0,
    dims={"platform": "dim1"},
)
_count("app_actions", "app.action", "Actions taken in the app by team members", {"action": "dim1", "user": "dim2"})
ACTIVE_CLIENTS = Metric(
    name="active_clients", description="Distinct clients with any event (exact)", unit="count", plus=()
)
REGISTRY[ACTIVE_CLIENTS.name] = ACTIVE_CLIENTS


class MetricInfo(BaseModel):
    """What the dashboard shows about a metric (its catalog entry)."""

    name: str
    description: str
    unit: Unit
    dimensions: list[str] = Field(description="Allowed values of `by` in breakdown()")
    per_currency: bool = Field(description="Money: one value per currency, never summed across currencies")


def catalog() -> list[MetricInfo]:
    """Every metric of the registry, by name."""
    return [
        MetricInfo(
            name=m.name,
            description=m.description,
            unit=m.unit,
            dimensions=sorted(m.dimensions),
            per_currency=m.per_currency,
        )
        for m in sorted(REGISTRY.values(), key=lambda m: m.name)
    ]


def local_window(timezone: str, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """[start, end) instants of the local days first_day..last_day (inclusive) in an IANA zone: from local
    midnight of first_day to local midnight after last_day (DST-aware)."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(first_day, datetime.min.time(), tz)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def get(name: str) -> Metric:
    """The metric called `name`; InvalidInput lists the known names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise errors.InvalidInput(f"unknown metric {name!r}; known metrics: {known}") from None


# ----- answers ----------------------------------------------------------------------------------------------


class Value(BaseModel):
    currency: str | None = Field(description="ISO 4217 for money metrics, else null")
    value: int | float | None = Field(description="Counts and money (minor units) are integers; null: none")


class Totals(BaseModel):
    organization_id: UUID
    start: datetime
    end: datetime
    timezone: str
    metrics: dict[str, list[Value]]


class Point(BaseModel):
    start: datetime = Field(description="Start of the period, in the organization's zone")
    value: int | float | None


class Series(BaseModel):
    currency: str | None
    points: list[Point]


class Timeseries(BaseModel):
    metric: str
    unit: Unit
    interval: Interval
    timezone: str
    series: list[Series]


class BreakdownRow(BaseModel):
    key: str = Field(description="The dimension's value ('' when the events did not say)")
    currency: str | None
    value: int | float | None


class Breakdown(BaseModel):
    metric: str
    unit: Unit
    by: str
    rows: list[BreakdownRow]


# ----- computing -------------------------------------------------------------------------------------------

_Sums = dict[tuple[str, str], dict[Field_, int]]  # (source, dim2) -> field sums


@dataclass
class _Org:
    id: UUID
    tz: ZoneInfo
    currency: str


def _org(conn: Connection[Any], org_id: UUID) -> _Org:
    row = conn.execute(queries.get("organization_zone"), {"organization_id": org_id}).fetchone()
    if row is None:
        raise errors.NotFound(f"organization {org_id} does not exist")
    return _Org(org_id, ZoneInfo(row[0]), row[1])


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise errors.InvalidInput("start and end must carry a UTC offset or zone")
    if end <= start:
        raise errors.InvalidInput("end must be after start")


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

    def params(self, org: _Org, interval: str) -> dict[str, Any]:
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


def _evaluate(metric: Metric, sums: _Sums) -> int | float | None:
    def total(parts: tuple[Part, ...]) -> int:
        n = 0
        for part in parts:
            for (source, dim2), fields in sums.items():
                if source == part.source and (part.dim2 is None or dim2 == part.dim2):
                    n += fields[part.field]
        return n

    value = total(metric.plus) - total(metric.minus)
    if not metric.over:
        return value
    den = total(metric.over)
    if den == 0:
        return None
    result = value / den * metric.scale
    return round(result) if metric.unit == "money" else result


def _collect(
    conn: Connection[Any],
    org: _Org,
    metrics: list[Metric],
    interval: str,
    start: datetime,
    end: datetime,
    by: Column | None,
) -> dict[tuple[Any, str, str, str], _Sums]:
    """Rollup sums keyed by (period, metric name, breakdown key, currency)."""
    sources = sorted({s for m in metrics for s in m.sources})
    dim2 = by == "dim2" or any(p.dim2 is not None for m in metrics for p in (*m.plus, *m.minus, *m.over))
    rows = _sums(conn, org, sources, interval, start, end, dim1=by == "dim1", dim2=dim2)
    out: dict[tuple[Any, str, str, str], _Sums] = defaultdict(dict)
    for period, source, dim1, dim2, currency, *values in rows:
        cols = {"dim1": dim1, "dim2": dim2, "currency": currency}
        for metric in metrics:
            if source not in metric.sources:
                continue
            key = (period, metric.name, cols[by] if by else "", currency if metric.per_currency else "")
            slot = out[key].setdefault((source, dim2), dict.fromkeys(_FIELDS, 0))
            for name, v in zip(_FIELDS, values, strict=True):
                slot[name] += int(v)
    return out


def _active(conn: Connection[Any], org: _Org, interval: str, start: datetime, end: datetime) -> dict[Any, int]:
    parts = split(org.tz, interval, start, end)
    name = "active_clients_by_day" if parts.whole_days_only else "active_clients"
    rows = conn.execute(queries.get(name), parts.params(org, interval)).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def _sums(
    conn: Connection[Any],
    org: _Org,
    sources: list[str],
    interval: str,
    start: datetime,
    end: datetime,
    *,
    dim1: bool = True,
    dim2: bool = True,
) -> list[tuple[Any, ...]]:
    """Rows (period, metric, dim1, dim2, currency, events, amount_minor, value_sum, value_count) of both tiers;
    a dimension not asked for is summed over in SQL (returned as ''), which keeps long series small."""
    params = split(org.tz, interval, start, end).params(org, interval)
    return conn.execute(
        queries.get("rollup_sums"), {**params, "metrics": sources, "dim1": dim1, "dim2": dim2}
    ).fetchall()


def totals(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime) -> Totals:
    """Every registered metric over [start, end); money metrics one value per currency seen (or the
    organization's currency with 0 when none)."""
    _check_window(start, end)
    org = _org(conn, org_id)
    summable = [m for m in REGISTRY.values() if m is not ACTIVE_CLIENTS]
    collected = _collect(conn, org, summable, "all", start, end, None)
    result: dict[str, list[Value]] = {}
    for metric in summable:
        found = sorted(
            (cur, _evaluate(metric, sums)) for (_, name, _, cur), sums in collected.items() if name == metric.name
        )
        if metric.per_currency:
            result[metric.name] = [Value(currency=c, value=v) for c, v in found] or [
                Value(currency=org.currency, value=None if metric.over else 0)
            ]
        else:
            value = found[0][1] if found else (None if metric.over else 0)
            result[metric.name] = [Value(currency=None, value=value)]
    active = _active(conn, org, "all", start, end).get(None, 0)
    result[ACTIVE_CLIENTS.name] = [Value(currency=None, value=active)]
    return Totals(organization_id=org_id, start=start, end=end, timezone=org.tz.key, metrics=result)


def periods(tz: ZoneInfo, interval: Interval, start: datetime, end: datetime) -> list[datetime]:
    """The period keys of [start, end) as the SQL groups them: naive UTC instants of local hour starts for
    'hour', naive local starts of days, ISO weeks or months otherwise."""
    keys: list[datetime] = []
    if interval == "hour":
        t = start.astimezone(UTC).replace(second=0, microsecond=0)
        t -= timedelta(minutes=t.minute % 15)
        while t < end and len(keys) <= _MAX_POINTS:
            key = (t - timedelta(minutes=t.astimezone(tz).minute)).replace(tzinfo=None)
            if not keys or keys[-1] != key:
                keys.append(key)
            t += timedelta(minutes=15)
        return keys
    local = start.astimezone(tz).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    if interval == "week":
        local -= timedelta(days=local.weekday())
    elif interval == "month":
        local = local.replace(day=1)
    last = (end - timedelta(microseconds=1)).astimezone(tz).replace(tzinfo=None)
    while local <= last and len(keys) <= _MAX_POINTS:
        keys.append(local)
        if interval == "day":
            local += timedelta(days=1)
        elif interval == "week":
            local += timedelta(weeks=1)
        else:
            local = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    return keys


def _label(tz: ZoneInfo, interval: Interval, key: datetime) -> datetime:
    if interval == "hour":
        return key.replace(tzinfo=UTC).astimezone(tz)
    return key.replace(tzinfo=tz)


def timeseries(
    conn: Connection[Any], org_id: UUID, metric: str, interval: Interval, start: datetime, end: datetime
) -> Timeseries:
    """One point per hour, day, ISO week or month of [start, end) in the organization's zone, empty periods
    filled (0, or null for ratios with no denominator); money metrics give one series per currency."""
    _check_window(start, end)
    if interval not in ("hour", "day", "week", "month"):
        raise errors.InvalidInput("interval must be one of hour, day, week, month")
    m = get(metric)
    org = _org(conn, org_id)
    keys = periods(org.tz, interval, start, end)
    if len(keys) > _MAX_POINTS:
        raise errors.InvalidInput(f"more than {_MAX_POINTS} {interval}s: use a longer interval")
    empty = None if m.over else 0
    if m is ACTIVE_CLIENTS:
        counts = _active(conn, org, interval, start, end)
        points = [Point(start=_label(org.tz, interval, k), value=counts.get(k, 0)) for k in keys]
        return Timeseries(
            metric=metric,
            unit=m.unit,
            interval=interval,
            timezone=org.tz.key,
            series=[Series(currency=None, points=points)],
        )
    collected = _collect(conn, org, [m], interval, start, end, None)
    by_currency: dict[str, dict[Any, int | float | None]] = defaultdict(dict)
    for (period, _, _, cur), sums in collected.items():
        by_currency[cur][period] = _evaluate(m, sums)
    if not by_currency:
        by_currency[org.currency if m.per_currency else ""] = {}
    series = [
        Series(
            currency=cur or None,
            points=[Point(start=_label(org.tz, interval, k), value=values.get(k, empty)) for k in keys],
        )
        for cur, values in sorted(by_currency.items())
    ]
    return Timeseries(metric=metric, unit=m.unit, interval=interval, timezone=org.tz.key, series=series)


def breakdown(conn: Connection[Any], org_id: UUID, metric: str, by: str, start: datetime, end: datetime) -> Breakdown:
    """The metric per value of one of its dimensions (see `Metric.dimensions`), largest first."""
    _check_window(start, end)
    m = get(metric)
    if by not in m.dimensions:
        allowed = ", ".join(sorted(m.dimensions)) or "none"
        raise errors.InvalidInput(f"{metric} cannot be broken down by {by!r}; allowed: {allowed}")
    org = _org(conn, org_id)
    collected = _collect(conn, org, [m], "all", start, end, m.dimensions[by])
    rows = [
        BreakdownRow(key=key, currency=cur or None, value=_evaluate(m, sums))
        for (_, _, key, cur), sums in collected.items()
    ]
    rows.sort(key=lambda r: (r.value is None, -(r.value or 0), r.key, r.currency or ""))
    return Breakdown(metric=metric, unit=m.unit, by=by, rows=rows)


# ----- revenue, bookings, funnel, cohorts, lead times ----------------------------------------------------


class CurrencyRevenue(BaseModel):
    currency: str
    gross_minor: int
    refunds_minor: int
    net_minor: int
    payments: int
    by_kind_minor: dict[str, int] = Field(description="Gross per kind: deposit, instalment, balance, other")


def revenue(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime) -> list[CurrencyRevenue]:
    """Gross, refunds and net per currency (never converted or summed across currencies), gross by kind."""
    _check_window(start, end)
    org = _org(conn, org_id)
    rows = _sums(conn, org, ["payment.succeeded", "payment.refunded"], "all", start, end, dim2=False)
    acc: dict[str, dict[str, Any]] = {}
    for _, source, dim1, _, currency, events, amount, _, _ in rows:
        slot = acc.setdefault(currency, {"gross": 0, "refunds": 0, "payments": 0, "kinds": defaultdict(int)})
        if source == "payment.succeeded":
            slot["gross"] += amount
            slot["payments"] += events
            slot["kinds"][dim1] += amount
        else:
            slot["refunds"] += amount
    return [
        CurrencyRevenue(
            currency=c,
            gross_minor=s["gross"],
            refunds_minor=s["refunds"],
            net_minor=s["gross"] - s["refunds"],
            payments=s["payments"],
            by_kind_minor=dict(sorted(s["kinds"].items())),
        )
        for c, s in sorted(acc.items())
    ]


class BookingStatus(BaseModel):
    currency: str
    bookings: int = Field(description="Bookings confirmed in the window")
    cancelled: int = Field(description="Of those, cancelled since")
    net_bookings: int
    value_minor: int
    net_value_minor: int = Field(description="Value of those not cancelled")


def bookings(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime) -> list[BookingStatus]:
    """Bookings made in the window and what became of them (from the booking view), per currency."""
    _check_window(start, end)
    rows = conn.execute(
        queries.get("booking_status"), {"organization_id": org_id, "start": start, "end": end}
    ).fetchall()
    return [
        BookingStatus(
            currency=r[0],
            bookings=r[1],
            cancelled=r[2],
            net_bookings=r[1] - r[2],
            value_minor=r[3],
            net_value_minor=r[4],
        )
        for r in rows
    ]


class FunnelStage(BaseModel):
    stage: Literal["inquiry", "booking", "deposit_paid", "balance_paid"]
    clients: int
    rate_from_previous: float | None
    rate_from_inquiry: float | None


class Funnel(BaseModel):
    stages: list[FunnelStage]
    conversion_rate: float | None = Field(description="Clients who booked / clients who inquired")
    median_days_to_book: float | None
    mean_days_to_book: float | None


def funnel(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime) -> Funnel:
    """Clients whose first inquiry was in [start, end), and how many of them have since booked, paid a deposit
    and paid the balance (payments are linked to clients through their booking_id)."""
    _check_window(start, end)
    row = conn.execute(queries.get("funnel_counts"), {"organization_id": org_id, "start": start, "end": end}).fetchone()
    assert row is not None
    counts = [int(row[0]), int(row[1]), int(row[2]), int(row[3])]
    names: list[Literal["inquiry", "booking", "deposit_paid", "balance_paid"]] = [
        "inquiry",
        "booking",
        "deposit_paid",
        "balance_paid",
    ]
    stages = [
        FunnelStage(
            stage=name,
            clients=n,
            rate_from_previous=(n / counts[i - 1] if counts[i - 1] else None) if i else None,
            rate_from_inquiry=n / counts[0] if counts[0] else None,
        )
        for i, (name, n) in enumerate(zip(names, counts, strict=True))
    ]
    return Funnel(
        stages=stages,
        conversion_rate=counts[1] / counts[0] if counts[0] else None,
        median_days_to_book=None if row[4] is None else float(row[4]),
        mean_days_to_book=None if row[5] is None else float(row[5]),
    )


class Cohort(BaseModel):
    month: date = Field(description="Month of the first inquiry, in the organization's zone")
    inquiries: int
    booked: int
    deposit_paid: int
    balance_paid: int
    conversion_rate: float | None


def cohorts(conn: Connection[Any], org_id: UUID, start_month: date, end_month: date) -> list[Cohort]:
    """Monthly inquiry cohorts with start_month <= month < end_month."""
    rows = conn.execute(
        queries.get("cohorts"), {"organization_id": org_id, "start": start_month, "end": end_month}
    ).fetchall()
    return [
        Cohort(
            month=r[0],
            inquiries=r[1],
            booked=r[2],
            deposit_paid=r[3],
            balance_paid=r[4],
            conversion_rate=r[2] / r[1] if r[1] else None,
        )
        for r in rows
    ]


class LeadTimes(BaseModel):
    measure: Literal["inquiry_to_booking", "booking_to_wedding"]
    histogram: dict[int, int] = Field(description="whole days -> how many")
    count: int
    mean_days: float | None
    p50_days: int | None
    p90_days: int | None


def lead_times(
    conn: Connection[Any],
    org_id: UUID,
    measure: Literal["inquiry_to_booking", "booking_to_wedding"],
    start_month: date,
    end_month: date,
) -> LeadTimes:
    """The distribution of a lead time for bookings made in local months [start_month, end_month)."""
    rows = conn.execute(
        queries.get("lead_time_histogram"),
        {"organization_id": org_id, "measure": measure, "start": start_month, "end": end_month},
    ).fetchall()
    hist = {int(d): int(n) for d, n in rows}
    count = sum(hist.values())

    def quantile(q: float) -> int | None:
        if not count:
            return None
        seen = 0
        for days, n in sorted(hist.items()):
            seen += n
            if seen >= q * count:
                return days
        return max(hist)

    return LeadTimes(
        measure=measure,
        histogram=hist,
        count=count,
        mean_days=sum(d * n for d, n in hist.items()) / count if count else None,
        p50_days=quantile(0.5),
        p90_days=quantile(0.9),
    )


class ViewFreshness(BaseModel):
    view: str
    pending: bool
    changed_at: datetime | None
    refreshed_at: datetime | None
    refresh_ms: int | None
    stale_seconds: float


def freshness(conn: Connection[Any], org_id: UUID) -> list[ViewFreshness]:
    """When each materialized view was last refreshed for the organization and how stale it is now."""
    rows = conn.execute(queries.get("view_freshness"), {"organization_id": org_id}).fetchall()
    return [
        ViewFreshness(
            view=r[0], pending=r[1], changed_at=r[2], refreshed_at=r[3], refresh_ms=r[4], stale_seconds=float(r[5])
        )
        for r in rows
    ]
