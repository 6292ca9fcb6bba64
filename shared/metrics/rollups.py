"""Metrics computed from the rollups: totals, series and breakdowns of any registered metric, and revenue.

Simple sums are exact in the organization's own time zone for any hour, day, week (starting on the
organization's `week_start`, as its weekly reports do) or month: the
window is split between the daily and the 15-minute tier (`timeframes.split`). Distinct active clients are exact
too (client-day firsts for whole days). Money is always kept per currency and never summed across currencies.
Every function takes the caller's connection and reads one organization only.

API (all return pydantic models):
    totals(conn, org_id, start, end) -> Totals
    timeseries(conn, org_id, metric, interval, start, end) -> Timeseries   # empty periods filled
    breakdown(conn, org_id, metric, by, start, end) -> Breakdown
    revenue(conn, org_id, start, end) -> list[CurrencyRevenue]
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from shared.core import db, errors
from shared.metrics import fx, registry, timeframes

_FIELDS: tuple[registry.Field_, ...] = ("events", "amount_minor", "value_sum", "value_count")


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
    unit: registry.Unit
    interval: timeframes.Interval
    timezone: str
    week_start: str = Field(
        description="The organization's first day of the week (its report setting `week_start`); weekly points start"
        " on it"
    )
    series: list[Series]
    comparison: list[Series] | None = Field(
        None, description="With ?compare=: the same metric over the comparison period, labelled with its own dates"
    )
    comparison_start: datetime | None = None
    comparison_end: datetime | None = None
    home_currency: fx.Conversion | None = Field(
        None,
        description="With currency=home: the one series is in this home currency; the rates used, what was left out",
    )


class BreakdownRow(BaseModel):
    key: str = Field(description="The dimension's value ('' when the events did not say)")
    currency: str | None
    value: int | float | None


class Breakdown(BaseModel):
    metric: str
    unit: registry.Unit
    by: str
    rows: list[BreakdownRow]


@dataclass(frozen=True)
class _SumRow:
    """A row of `rollup_sums`: one period, metric, dimensions and currency, with its summed fields."""

    period: Any
    metric: str
    dim1: str
    dim2: str
    currency: str
    events: int
    amount_minor: int
    value_sum: int
    value_count: int


_Sums = dict[tuple[str, str], dict[registry.Field_, int]]  # (source, dim2) -> field sums


def _evaluate(metric: registry.Metric, sums: _Sums) -> int | float | None:
    def total(parts: tuple[registry.Part, ...]) -> int:
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
    org: timeframes.Org,
    metrics: list[registry.Metric],
    interval: str,
    start: datetime,
    end: datetime,
    by: registry.Column | None,
) -> dict[tuple[Any, str, str, str], _Sums]:
    """Rollup sums keyed by (period, metric name, breakdown key, currency)."""
    sources = sorted({s for m in metrics for s in m.sources})
    # dim2 is read only for the sources a part filters on (nps: review.nps), unless it is the breakdown.
    split = sorted({p.source for m in metrics for p in (*m.plus, *m.minus, *m.over) if p.dim2 is not None})
    rows = _sums(conn, org, sources, interval, start, end, dim1=by == "dim1", dim2=by == "dim2", dim2_sources=split)
    using: dict[str, list[registry.Metric]] = defaultdict(list)
    for metric in metrics:
        for source in metric.sources:
            using[source].append(metric)
    out: dict[tuple[Any, str, str, str], _Sums] = defaultdict(dict)
    for r in rows:
        cols = {"dim1": r.dim1, "dim2": r.dim2, "currency": r.currency}
        fields = (int(r.events), int(r.amount_minor), int(r.value_sum), int(r.value_count))
        for metric in using[r.metric]:
            key = (r.period, metric.name, cols[by] if by else "", r.currency if metric.per_currency else "")
            slot = out[key].setdefault((r.metric, r.dim2), dict.fromkeys(_FIELDS, 0))
            for name, value in zip(_FIELDS, fields, strict=True):
                slot[name] += value
    return out


def _active(
    conn: Connection[Any], org: timeframes.Org, interval: str, start: datetime, end: datetime
) -> dict[Any, int]:
    parts = timeframes.split(org.tz, interval, start, end)
    name = "active_clients_by_day" if parts.whole_days_only else "active_clients"
    rows = db.fetch_all(conn, name, parts.params(org, interval), dict_row)
    return {r["period"]: int(r["clients"]) for r in rows}


def _sums(
    conn: Connection[Any],
    org: timeframes.Org,
    sources: list[str],
    interval: str,
    start: datetime,
    end: datetime,
    *,
    dim1: bool = True,
    dim2: bool = True,
    dim2_sources: list[str] | None = None,
) -> list[_SumRow]:
    """The summed rollup rows of both tiers; a dimension not asked for is summed over in SQL (returned as ''),
    which keeps long series small; `dim2_sources` keep their dim2 even when `dim2` is false."""
    params = timeframes.split(org.tz, interval, start, end).params(org, interval)
    return db.fetch_all(
        conn,
        "rollup_sums",
        {**params, "metrics": sources, "dim1": dim1, "dim2": dim2, "dim2_sources": dim2_sources or []},
        _SumRow,
    )


def totals(
    conn: Connection[Any], org_id: UUID, start: datetime, end: datetime, *, org: timeframes.Org | None = None
) -> Totals:
    """Every registered metric over [start, end); money metrics one value per currency seen (or the
    organization's currency with 0 when none). `org`: the organization already loaded (saves a read)."""
    timeframes.check_window(start, end)
    org = org or timeframes.load_org(conn, org_id)
    summable = [m for m in registry.REGISTRY.values() if m is not registry.ACTIVE_CLIENTS]
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
    result[registry.ACTIVE_CLIENTS.name] = [Value(currency=None, value=active)]
    return Totals(organization_id=org_id, start=start, end=end, timezone=org.tz.key, metrics=result)


def _label(tz: ZoneInfo, interval: timeframes.Interval, key: datetime) -> datetime:
    if interval == "hour":
        return key.replace(tzinfo=UTC).astimezone(tz)
    return key.replace(tzinfo=tz)


def timeseries(
    conn: Connection[Any],
    org_id: UUID,
    metric: str,
    interval: timeframes.Interval,
    start: datetime,
    end: datetime,
    *,
    org: timeframes.Org | None = None,
) -> Timeseries:
    """One point per hour, day, week (the organization's) or month of [start, end) in its zone, empty periods
    filled (0, or null for ratios with no denominator); money metrics give one series per currency. `org`: the
    organization already loaded (saves a read)."""
    timeframes.check_window(start, end)
    if interval not in ("hour", "day", "week", "month"):
        raise errors.InvalidInput("interval must be one of hour, day, week, month")
    m = registry.get(metric)
    org = org or timeframes.load_org(conn, org_id)
    keys = timeframes.periods(org.tz, interval, start, end, org.week_start)
    if len(keys) > timeframes.MAX_POINTS:
        raise errors.InvalidInput(f"more than {timeframes.MAX_POINTS} {interval}s: use a longer interval")
    empty = None if m.over else 0
    if m is registry.ACTIVE_CLIENTS:
        counts = _active(conn, org, interval, start, end)
        points = [Point(start=_label(org.tz, interval, k), value=counts.get(k, 0)) for k in keys]
        return Timeseries(
            metric=metric,
            unit=m.unit,
            interval=interval,
            timezone=org.tz.key,
            week_start=org.week_start,
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
    return Timeseries(
        metric=metric, unit=m.unit, interval=interval, timezone=org.tz.key, week_start=org.week_start, series=series
    )


def breakdown(
    conn: Connection[Any],
    org_id: UUID,
    metric: str,
    by: str,
    start: datetime,
    end: datetime,
    *,
    org: timeframes.Org | None = None,
) -> Breakdown:
    """The metric per value of one of its dimensions (see `Metric.dimensions`), largest first. `org`: the
    organization already loaded (saves a read)."""
    timeframes.check_window(start, end)
    m = registry.get(metric)
    if by not in m.dimensions:
        allowed = ", ".join(sorted(m.dimensions)) or "none"
        raise errors.InvalidInput(f"{metric} cannot be broken down by {by!r}; allowed: {allowed}")
    org = org or timeframes.load_org(conn, org_id)
    collected = _collect(conn, org, [m], "all", start, end, m.dimensions[by])
    rows = [
        BreakdownRow(key=key, currency=cur or None, value=_evaluate(m, sums))
        for (_, _, key, cur), sums in collected.items()
    ]
    rows.sort(key=lambda r: (r.value is None, -(r.value or 0), r.key, r.currency or ""))
    return Breakdown(metric=metric, unit=m.unit, by=by, rows=rows)


class CurrencyRevenue(BaseModel):
    currency: str
    gross_minor: int
    refunds_minor: int
    net_minor: int
    payments: int
    by_kind_minor: dict[str, int] = Field(description="Gross per kind: deposit, instalment, balance, other")


def revenue(
    conn: Connection[Any], org_id: UUID, start: datetime, end: datetime, *, org: timeframes.Org | None = None
) -> list[CurrencyRevenue]:
    """Gross, refunds and net per currency (never converted or summed across currencies), gross by kind.
    `org`: the organization already loaded (saves a read)."""
    timeframes.check_window(start, end)
    org = org or timeframes.load_org(conn, org_id)
    rows = _sums(conn, org, ["payment.succeeded", "payment.refunded"], "all", start, end, dim2=False)
    acc: dict[str, dict[str, Any]] = {}
    for r in rows:
        slot = acc.setdefault(r.currency, {"gross": 0, "refunds": 0, "payments": 0, "kinds": defaultdict(int)})
        if r.metric == "payment.succeeded":
            slot["gross"] += r.amount_minor
            slot["payments"] += r.events
            slot["kinds"][r.dim1] += r.amount_minor
        else:
            slot["refunds"] += r.amount_minor
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
