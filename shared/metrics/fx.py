"""European Central Bank reference rates, as loaded into `public.fx_rates` (units of a currency per 1 EUR).

The rate of a day is the one the ECB last published on or before it: the ECB publishes on TARGET working days
only, so a Saturday uses Friday's rate and Easter Monday the Thursday before. A rate older than
`MAX_RATE_AGE_DAYS` is not used (the currency is reported as not convertible instead): either the ECB stopped
quoting it or newer rates have not been loaded (`wedsync-analytics fx load`).

API: lookup(conn, pairs) -> {(currency, day): Rate | None}; usable(rate, day); SOURCE, METHOD; the answer parts
RateUsed, Unconverted, Conversion.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from shared.core import db

SOURCE = "ECB reference rate"
MAX_RATE_AGE_DAYS = 7
METHOD = (
    "Each payment at the ECB reference rate of its local day in the organization's zone (the last rate published"
    " on or before that day: weekends and holidays use the previous working day's); each refund at the rate of"
    " the refund's local day. Converted exactly, each figure rounded once, half to even, to the home currency's"
    " minor unit."
)


class RateUsed(BaseModel):
    currency: str
    rate_date: date = Field(description="The ECB publication day whose rate was used")
    per_eur: str = Field(description="Units of the currency per 1 EUR, as published")


class Unconverted(BaseModel):
    currency: str
    first_day: date = Field(description="The first local day with money left out")
    last_day: date = Field(description="The last local day with money left out")
    reason: str


class Conversion(BaseModel):
    """How figures in the home currency were made: the rates used and what was left out."""

    currency: str = Field(description="The organization's home currency (ISO 4217)")
    source: str = SOURCE
    method: str = METHOD
    rates: list[RateUsed] = Field(description="Every rate used: currency and ECB publication day")
    not_convertible: list[Unconverted] = Field(description="Money left out (no usable rate), never guessed")


@dataclass(frozen=True)
class Rate:
    """`per_eur` units of `currency` for one euro, as the ECB published it on `rate_date`."""

    currency: str
    rate_date: date
    per_eur: Decimal


def lookup(conn: Connection[Any], pairs: Iterable[tuple[str, date]]) -> dict[tuple[str, date], Rate | None]:
    """The rate last published on or before each (currency, local day); None when none ever was. Whether it is
    recent enough is `usable`'s question. Reads `fx_rates`, which only the pipeline's own role may read: each
    currency's rates over the days asked about (plus the one before them) in one statement, so the read grows with
    the rates published, not with the days asked about."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    days = [d for _, d in wanted]
    rows = db.fetch_all(
        conn,
        "fx_rates_during",
        {"currencies": sorted({c for c, _ in wanted}), "first": min(days), "last": max(days)},
        dict_row,
    )
    published: dict[str, list[Rate]] = {}
    for r in sorted(rows, key=lambda r: (r["currency"], r["rate_date"])):
        published.setdefault(r["currency"], []).append(Rate(r["currency"], r["rate_date"], Decimal(r["per_eur"])))
    found: dict[tuple[str, date], Rate | None] = {}
    for currency, day in wanted:
        rates = published.get(currency, [])
        at = bisect.bisect_right(rates, day, key=lambda x: x.rate_date)
        found[(currency, day)] = rates[at - 1] if at else None
    return found


def usable(rate: Rate | None, day: date) -> bool:
    """A rate converts money of `day` when it was published at most MAX_RATE_AGE_DAYS before it."""
    return rate is not None and day - rate.rate_date <= timedelta(days=MAX_RATE_AGE_DAYS)


@dataclass(frozen=True)
class Coverage:
    currency: str
    days: int
    first_day: date
    last_day: date


def coverage(conn: Connection[Any]) -> list[Coverage]:
    """Which rates are loaded: per currency, how many publication days and their first and last."""
    return db.fetch_all(conn, "fx_rates_coverage", None, Coverage)
