"""Home-currency totals: money metrics converted into the organization's home currency at ECB reference rates.

Each payment converts at the rate of its local day (the organization's zone), each refund at the rate of the
refund's local day. All of a day's payments in one currency share that rate, so converting the daily
per-currency rollup sums is converting every payment. Conversion is exact (fractions of the published decimal
rates); each figure is rounded once, half to even, to the home currency's minor unit. Net is the rounded exact
difference, so it may differ by one minor unit from rounded gross minus rounded refunds.

Money of a day without a usable rate for its currency (the ECB does not quote NPR; or no rate loaded within
`fx.MAX_RATE_AGE_DAYS` of the day) is left out of the home figure and listed as not convertible with its
per-currency amounts and days; never guessed.
Per-currency figures stay the exact default; this is an addition.

API: revenue(conn, org_id, start, end, read_rates=...) -> HomeRevenue; metrics(conn, org, start, end, read_rates)
-> HomeMetrics; timeseries(conn, org, metric, interval, start, end, read_rates) -> rollups.Timeseries;
convert(rows, home, read_rates) -> Converted.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

from psycopg import Connection
from pydantic import BaseModel, Field

from shared.catalog import currencies
from shared.core import db, errors
from shared.metrics import fx, registry, rollups, timeframes

METHOD = fx.METHOD
RateUsed = fx.RateUsed
Unconverted = fx.Unconverted
Rates = dict[tuple[str, date], fx.Rate | None]
ReadRates = Callable[[Iterable[tuple[str, date]]], Rates]
_PAYMENTS = "payment.succeeded"
_REFUNDS = "payment.refunded"


class NotConvertible(Unconverted):
    gross_minor: int
    refunds_minor: int
    net_minor: int


class HomeRevenue(BaseModel):
    currency: str = Field(description="The organization's home currency (ISO 4217)")
    gross_minor: int
    refunds_minor: int = Field(description="Refunds, each at the rate of the refund's local day")
    net_minor: int
    source: str = fx.SOURCE
    method: str = METHOD
    rates: list[RateUsed] = Field(description="Every rate used: currency and ECB publication day")
    not_convertible: list[NotConvertible] = Field(description="Left out of the home figures, with their amounts")


class HomeMetrics(BaseModel):
    currency: str = Field(description="The organization's home currency (ISO 4217)")
    values: dict[str, int | None] = Field(description="Each money metric in home minor units (null: no denominator)")
    source: str = fx.SOURCE
    method: str = METHOD
    rates: list[RateUsed]
    not_convertible: list[Unconverted] = Field(
        description="Currencies left out of `values` (their amounts are in the per-currency figures)"
    )


@dataclass(frozen=True)
class DayAmount:
    """Summed rollup rows of one money source, local day and currency."""

    day: date
    metric: str
    currency: str
    events: int
    amount_minor: int


@dataclass
class Left:
    """The money of one currency left out of the home figures: its amounts per source and the days it fell on."""

    reason: str
    amounts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    days: set[date] = field(default_factory=set)


@dataclass
class Converted:
    """Exact home-currency sums per rollup source over the (currency, day)s with a rate, and what was left out."""

    home: str
    amounts: dict[str, Fraction] = field(default_factory=lambda: defaultdict(Fraction))
    events: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rates: list[RateUsed] = field(default_factory=list)
    left: dict[str, Left] = field(default_factory=dict)


def _reason(currency: str, home: str, day: date, rates: Rates) -> str:
    code = currency if not fx.usable(rates.get((currency, day)), day) else home
    rate = rates.get((code, day))
    if rate is None:
        return f"no ECB reference rate for {code}: the ECB does not quote it (or its rates are not loaded)"
    return (
        f"no ECB rate for {code} within {fx.MAX_RATE_AGE_DAYS} days (the newest loaded is of {rate.rate_date}):"
        " load newer rates with `wedsync-analytics fx load`"
    )


def convert(rows: Iterable[DayAmount], home: str, read_rates: ReadRates) -> Converted:
    """The rows in the home currency, each (currency, day) at its day's rate. A day without a usable rate for its
    currency (or the home currency) is left out and reported with its amounts, never guessed."""
    rows = [r for r in rows if r.currency]
    out = Converted(home)
    rates = read_rates({(c, r.day) for r in rows if r.currency != home for c in (r.currency, home)})
    used: set[fx.Rate] = set()
    # Integer amounts summed per (metric, rate pair) first: the exact rational sum is then made once per metric
    # over the distinct factors, not once per day (see `_exact_sum`).
    pending: dict[tuple[str, str, fx.Rate, fx.Rate], int] = defaultdict(int)
    for r in rows:
        if r.currency == home:
            out.events[r.metric] += r.events
            pending[(r.metric, home, _UNIT, _UNIT)] += r.amount_minor
            continue
        mine, theirs = rates.get((r.currency, r.day)), rates.get((home, r.day))
        if mine is None or theirs is None or not (fx.usable(mine, r.day) and fx.usable(theirs, r.day)):
            left = out.left.get(r.currency) or out.left.setdefault(
                r.currency, Left(_reason(r.currency, home, r.day, rates))
            )
            left.amounts[r.metric] += r.amount_minor
            left.days.add(r.day)
            continue
        used.update((mine, theirs))
        out.events[r.metric] += r.events
        pending[(r.metric, r.currency, mine, theirs)] += r.amount_minor
    terms: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for (metric, currency, mine, theirs), amount in pending.items():
        num, den = (
            (1, 1)
            if mine is _UNIT
            else _factor(currencies.exponent(home) - currencies.exponent(currency), mine, theirs)
        )
        terms[metric].append((amount * num, den))
    for metric, parts in terms.items():
        out.amounts[metric] += _exact_sum(parts)
    out.rates = [
        RateUsed(currency=x.currency, rate_date=x.rate_date, per_eur=str(x.per_eur))
        for x in sorted(used, key=lambda x: (x.currency, x.rate_date))
    ]
    return out


_UNIT = fx.Rate("", date.min, Decimal(1))  # the home currency's own money: converted by 1


def _factor(exponent: int, mine: fx.Rate, theirs: fx.Rate) -> tuple[int, int]:
    """10**exponent * theirs / mine as an integer numerator and denominator (not reduced)."""
    tn, td = theirs.per_eur.as_integer_ratio()
    mn, md = mine.per_eur.as_integer_ratio()
    return tn * md * 10 ** max(exponent, 0), td * mn * 10 ** max(-exponent, 0)


def _exact_sum(parts: list[tuple[int, int]]) -> Fraction:
    """The exact sum of the fractions n/d, added pairwise in a balanced tree without reducing and reduced once at
    the end: adding Fractions one by one reduces an ever longer denominator at every step."""
    while len(parts) > 1:
        paired = [(a * d + c * b, b * d) for (a, b), (c, d) in zip(parts[::2], parts[1::2], strict=False)]
        parts = paired + parts[-1:] if len(parts) % 2 else paired
    return Fraction(*parts[0])


@dataclass(frozen=True)
class _DayRow:
    period: datetime
    metric: str
    dim1: str
    dim2: str
    currency: str
    events: int
    amount_minor: int
    value_sum: int
    value_count: int


def daily(
    conn: Connection[Any], org: timeframes.Org, sources: list[str], start: datetime, end: datetime
) -> list[DayAmount]:
    """The rollup sums of some sources per local day and currency over [start, end), from both tiers."""
    params = timeframes.split(org.tz, "day", start, end).params(org, "day")
    rows = db.fetch_all(
        conn, "rollup_sums", {**params, "metrics": sources, "dim1": False, "dim2": False, "dim2_sources": []}, _DayRow
    )
    return [DayAmount(r.period.date(), r.metric, r.currency, r.events, r.amount_minor) for r in rows]


def revenue(
    conn: Connection[Any],
    org_id: UUID,
    start: datetime,
    end: datetime,
    read_rates: ReadRates | None = None,
    *,
    org: timeframes.Org | None = None,
) -> HomeRevenue:
    """Gross, refunds and net of [start, end) in the organization's home currency. `read_rates` reads the rates
    (default: `fx.lookup` on this connection, which must be allowed to read `fx_rates`); `org`: the organization
    already loaded (saves a read)."""
    timeframes.check_window(start, end)
    org = org or timeframes.load_org(conn, org_id)
    rows = daily(conn, org, [_PAYMENTS, _REFUNDS], start, end)
    done = convert(rows, org.home_currency, read_rates or (lambda pairs: fx.lookup(conn, pairs)))
    gross, refunds = done.amounts[_PAYMENTS], done.amounts[_REFUNDS]
    left_out = []
    for cur, left in sorted(done.left.items()):
        g, r = left.amounts[_PAYMENTS], left.amounts[_REFUNDS]
        left_out.append(
            NotConvertible(
                currency=cur,
                gross_minor=g,
                refunds_minor=r,
                net_minor=g - r,
                first_day=min(left.days),
                last_day=max(left.days),
                reason=left.reason,
            )
        )
    return HomeRevenue(
        currency=org.home_currency,
        gross_minor=round(gross),
        refunds_minor=round(refunds),
        net_minor=round(gross - refunds),
        rates=done.rates,
        not_convertible=left_out,
    )


def _value(metric: registry.Metric, done: Converted) -> int | None:
    def total(parts: tuple[registry.Part, ...]) -> Fraction:
        return sum(
            (done.amounts[p.source] if p.field == "amount_minor" else Fraction(done.events[p.source]) for p in parts),
            Fraction(0),
        )

    value = total(metric.plus) - total(metric.minus)
    if metric.over:
        over = total(metric.over)
        return None if not over else round(value / over * Fraction(metric.scale))
    return round(value)


def _unconverted(done: Converted) -> list[fx.Unconverted]:
    return [
        fx.Unconverted(currency=c, first_day=min(x.days), last_day=max(x.days), reason=x.reason)
        for c, x in sorted(done.left.items())
    ]


def money_metrics() -> list[registry.Metric]:
    """The registered metrics that are sums of money (the ones a home-currency figure exists for)."""
    return [m for m in registry.REGISTRY.values() if m.unit == "money"]


def metrics(
    conn: Connection[Any], org: timeframes.Org, start: datetime, end: datetime, read_rates: ReadRates
) -> HomeMetrics:
    """Every money metric of [start, end) in the organization's home currency."""
    return metrics_over(conn, org, [(start, end)], read_rates)[0]


def metrics_over(
    conn: Connection[Any], org: timeframes.Org, windows: list[tuple[datetime, datetime]], read_rates: ReadRates
) -> list[HomeMetrics]:
    """`metrics` of each window, with the rates of all of them read at once."""
    wanted = money_metrics()
    sources = sorted({s for m in wanted for s in m.sources})
    home = org.home_currency
    days = [daily(conn, org, sources, start, end) for start, end in windows]
    rates = read_rates(
        {(c, r.day) for rows in days for r in rows if r.currency and r.currency != home for c in (r.currency, home)}
    )
    out = []
    for rows in days:
        done = convert(rows, home, lambda _: rates)
        out.append(
            HomeMetrics(
                currency=home,
                values={m.name: _value(m, done) for m in sorted(wanted, key=lambda m: m.name)},
                rates=done.rates,
                not_convertible=_unconverted(done),
            )
        )
    return out


def timeseries(
    conn: Connection[Any],
    org: timeframes.Org,
    metric: str,
    interval: timeframes.Interval,
    start: datetime,
    end: datetime,
    read_rates: ReadRates,
) -> rollups.Timeseries:
    """One money metric per local day, week or month in the home currency (`?currency=home`): one series, each
    point converted day by day and rounded once; `home_currency` says which rates and what was left out."""
    m = registry.get(metric)
    if m.unit != "money":
        raise errors.InvalidInput(f"{metric} is not money: currency=home applies to money metrics only")
    if interval == "hour":
        raise errors.InvalidInput("currency=home converts at daily rates: use interval day, week or month")
    keys = timeframes.periods(org.tz, interval, start, end, org.week_start)
    rows = daily(conn, org, sorted(m.sources), start, end)
    home = org.home_currency
    rates = read_rates({(c, r.day) for r in rows if r.currency and r.currency != home for c in (r.currency, home)})
    per_period: dict[datetime, list[DayAmount]] = defaultdict(list)
    for r in rows:
        at = bisect.bisect_right(keys, datetime.combine(r.day, datetime.min.time())) - 1
        per_period[keys[max(at, 0)]].append(r)
    empty = None if m.over else 0
    points = [
        rollups.Point(
            start=k.replace(tzinfo=org.tz),
            value=_value(m, convert(per_period[k], home, lambda _: rates)) if k in per_period else empty,
        )
        for k in keys
    ]
    done = convert(rows, home, lambda _: rates)
    return rollups.Timeseries(
        metric=metric,
        unit=m.unit,
        interval=interval,
        timezone=org.tz.key,
        week_start=org.week_start,
        series=[rollups.Series(currency=home, points=points)],
        home_currency=fx.Conversion(currency=home, rates=done.rates, not_convertible=_unconverted(done)),
    )
