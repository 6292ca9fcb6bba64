"""The home-currency conversion sums exactly: for any rows and rates, `home.convert` gives the same exact amounts,
events, rates used and money left out as converting every row on its own with Fractions and adding them up."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.catalog import currencies
from shared.metrics import fx, home

FIRST = date(2026, 1, 1)
CURRENCIES = ("GBP", "EUR", "USD", "JPY", "NPR")
METRICS = ("payment.succeeded", "payment.refunded")

rates_st = st.dictionaries(
    st.tuples(st.sampled_from(("GBP", "USD", "JPY")), st.integers(0, 40)),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("999.9999"), places=4),
    max_size=80,
)
rows_st = st.lists(
    st.builds(
        home.DayAmount,
        day=st.integers(0, 40).map(lambda n: FIRST + timedelta(days=n)),
        metric=st.sampled_from(METRICS),
        currency=st.sampled_from(CURRENCIES),
        events=st.integers(0, 50),
        amount_minor=st.integers(0, 10**12),
    ),
    max_size=120,
)


def _reader(published: dict[tuple[str, int], Decimal]) -> home.ReadRates:
    table = {(c, FIRST + timedelta(days=n)): v for (c, n), v in published.items()}
    table.update({("EUR", FIRST + timedelta(days=n)): Decimal(1) for n in range(0, 41, 3)})

    def read(pairs: object) -> home.Rates:
        out: home.Rates = {}
        for currency, day in pairs:  # type: ignore[attr-defined]
            found = [d for (c, d) in table if c == currency and d <= day]
            out[(currency, day)] = fx.Rate(currency, max(found), table[(currency, max(found))]) if found else None
        return out

    return read


def _one_by_one(rows: list[home.DayAmount], home_currency: str, read: home.ReadRates) -> dict[str, Fraction]:
    rates = read({(c, r.day) for r in rows for c in (r.currency, home_currency)})
    out: dict[str, Fraction] = defaultdict(Fraction)
    for r in rows:
        if r.currency == home_currency:
            out[r.metric] += r.amount_minor
            continue
        mine, theirs = rates[(r.currency, r.day)], rates[(home_currency, r.day)]
        if mine is None or theirs is None or not (fx.usable(mine, r.day) and fx.usable(theirs, r.day)):
            continue
        scale = Fraction(10) ** (currencies.exponent(home_currency) - currencies.exponent(r.currency))
        out[r.metric] += r.amount_minor * scale * Fraction(theirs.per_eur) / Fraction(mine.per_eur)
    return dict(out)


@settings(max_examples=150, deadline=None)
@given(rows=rows_st, published=rates_st, home_currency=st.sampled_from(("GBP", "JPY", "EUR")))
def test_converting_sums_per_rate_equals_converting_every_row(
    rows: list[home.DayAmount], published: dict[tuple[str, int], Decimal], home_currency: str
) -> None:
    read = _reader(published)
    done = home.convert(rows, home_currency, read)

    def nonzero(amounts: dict[str, Fraction]) -> dict[str, Fraction]:
        return {k: v for k, v in amounts.items() if v}

    assert nonzero(done.amounts) == nonzero(_one_by_one(rows, home_currency, read))
