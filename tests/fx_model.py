"""An independent model of home-currency totals, written from docs/dashboard.md "Home currency": each payment on
its own (not per day), converted at the ECB rate last published on or before its local day, summed exactly and
rounded once, half to even. It shares no code with shared.metrics.home."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

EXPONENT = {"GBP": 2, "EUR": 2, "USD": 2, "JPY": 0, "NPR": 2}
QUOTED = ("USD", "JPY", "GBP")  # columns of the test's ECB file; EUR is the base, NPR is never quoted


@dataclass
class Table:
    """Published rates: publication day -> {currency: units per EUR} (EUR = 1 on every publication day)."""

    days: list[date]
    per_eur: dict[date, dict[str, Decimal]]

    def rate(self, currency: str, day: date, max_age: int = 7) -> tuple[date, Decimal] | None:
        i = bisect.bisect_right(self.days, day)
        while i > 0:
            published = self.days[i - 1]
            if (day - published).days > max_age:
                return None
            if currency == "EUR":
                return published, Decimal(1)
            if currency in self.per_eur[published]:
                return published, self.per_eur[published][currency]
            i -= 1
        return None

    def csv(self) -> str:
        lines = ["Date," + ",".join(QUOTED) + ","]
        for d in reversed(self.days):  # newest first, as the ECB writes it
            cells = [str(self.per_eur[d][c]) if c in self.per_eur[d] else "N/A" for c in QUOTED]
            lines.append(f"{d.isoformat()}," + ",".join(cells) + ",")
        return "\n".join(lines) + "\n"


def table(first: date, last: date, seed: int, holidays: frozenset[date] = frozenset()) -> Table:
    """Rates on the weekdays of [first, last] that are not holidays, with 4 to 6 significant digits."""
    rnd = random.Random(seed)
    days: list[date] = []
    per_eur: dict[date, dict[str, Decimal]] = {}
    d = first
    while d <= last:
        if d.weekday() < 5 and d not in holidays:
            days.append(d)
            per_eur[d] = {
                "USD": Decimal(rnd.randint(10500, 11800)) / 10000,
                "JPY": Decimal(rnd.randint(15000, 18000)) / 100,
                "GBP": Decimal(rnd.randint(82000, 88000)) / 100000,
            }
        d += timedelta(days=1)
    return Table(days, per_eur)


@dataclass
class Expected:
    gross: Fraction = Fraction(0)
    refunds: Fraction = Fraction(0)
    booked: Fraction = Fraction(0)
    left_out: dict[str, dict[str, int]] = field(default_factory=dict)
    rates: set[tuple[str, date]] = field(default_factory=set)

    def rounded(self) -> dict[str, int]:
        return {
            "gross_minor": round(self.gross),
            "refunds_minor": round(self.refunds),
            "net_minor": round(self.gross - self.refunds),
        }


def expected(events: list[dict[str, Any]], tz: ZoneInfo, home: str, rates: Table, first: date, last: date) -> Expected:
    """Home-currency gross, refunds and booked value of the events of the local days first..last, payment by
    payment."""
    out = Expected()
    events = [e for e in events if first <= datetime.fromisoformat(e["occurred_at"]).astimezone(tz).date() <= last]
    for e in events:
        kind, data = e["type"], e["data"]
        if kind not in ("payment.succeeded", "payment.refunded", "booking.confirmed"):
            continue
        currency = data["currency"]
        amount = data["value_minor"] if kind == "booking.confirmed" else data["amount_minor"]
        day = datetime.fromisoformat(e["occurred_at"]).astimezone(tz).date()
        if currency != home and (rates.rate(currency, day) is None or rates.rate(home, day) is None):
            slot = out.left_out.setdefault(currency, {"gross_minor": 0, "refunds_minor": 0})
            if kind != "booking.confirmed":
                slot["gross_minor" if kind == "payment.succeeded" else "refunds_minor"] += amount
            continue
        value = Fraction(amount)
        if currency != home:
            mine, theirs = rates.rate(currency, day), rates.rate(home, day)
            assert mine is not None and theirs is not None
            if kind != "booking.confirmed":  # the rates of the revenue answer
                out.rates.update({(currency, mine[0]), (home, theirs[0])})
            value = (
                value * Fraction(theirs[1]) / Fraction(mine[1]) * Fraction(10) ** (EXPONENT[home] - EXPONENT[currency])
            )
        if kind == "payment.succeeded":
            out.gross += value
        elif kind == "payment.refunded":
            out.refunds += value
        else:
            out.booked += value
    return out
