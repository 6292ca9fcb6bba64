"""The wedding-date axis: bookings, booked value, money received and balances outstanding by the month or
season of the wedding, balances due soon, and how far each season is booked compared with the same point a
year earlier (pace).

Definitions (docs/metrics.md, "Weddings"), per booking id and per currency, never converted:
* A booking is on the axis once it is confirmed; its wedding date, agreed value and currency are those of its
  latest confirmation (re-confirmations replace, never add).
* Paid = payments received minus refunds, of the payments that name the booking (a refund that names only its
  payment counts for that payment's booking), in the booking's currency. Money in another currency, or for a
  booking not confirmed (yet), is listed as unassigned; it joins its booking when the confirmation arrives.
* A cancelled booking leaves the weddings and the booked value, and has no balance outstanding; the money it
  received stays in paid, and its refunds reduce paid.
* Outstanding = agreed value - paid, per booking, never below 0 (an overpayment does not reduce another
  booking's balance).
* A balance is due `lead_days` (BALANCE_DUE_LEAD_DAYS) before the wedding; "due in the next N days" counts the
  bookings with a balance whose due date is today or within the N days after.
* Pace: per season, the weddings booked and their value as of now, next to the season before as of the same
  calendar day a year ago (bookings first confirmed by then and not cancelled by then; values as agreed now).

API: answer(conn, org_id, by, first, last, *, due_within, lead_days, now) -> Weddings; season_lines(answer).
How far the range reaches: every confirmed booking of the seasons asked (and the season before each) is read;
a wedding business has hundreds of bookings a season, not millions.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from psycopg import Connection
from pydantic import BaseModel, Field

from shared.catalog import currencies
from shared.core import db, errors
from shared.metrics import balances, seasons, timeframes

By = Literal["month", "season"]


class _Booking(BaseModel):
    booking_id: str
    wedding_date: date
    currency: str
    value_minor: int
    first_confirmed_at: datetime
    cancelled_at: datetime | None
    paid_minor: int
    refunded_minor: int

    @property
    def paid(self) -> int:
        return self.paid_minor - self.refunded_minor

    @property
    def outstanding(self) -> int:
        return balances.outstanding(
            self.value_minor, self.paid_minor, self.refunded_minor, cancelled=self.cancelled_at is not None
        )


class WeddingPeriod(BaseModel):
    period: str = Field(description="Wedding month (YYYY-MM) or season ('2027', or '2027-28' across a new year)")
    first_day: date
    last_day: date
    currency: str
    weddings: int = Field(description="Bookings confirmed and not cancelled, each once")
    booked_minor: int = Field(description="Their agreed value (latest confirmation)")
    paid_minor: int = Field(description="Received minus refunded, cancelled bookings' money included")
    outstanding_minor: int = Field(description="Agreed value - paid of the bookings not cancelled, each at least 0")
    cancelled: int = Field(description="Bookings of these weddings that were cancelled")


class DueBalance(BaseModel):
    currency: str
    weddings: int = Field(description="Bookings with a balance due in [due_from, due_to]")
    outstanding_minor: int


class Due(BaseModel):
    within_days: int
    lead_days: int = Field(description="A balance is due this many days before the wedding")
    due_from: date
    due_to: date
    balances: list[DueBalance]


class Pace(BaseModel):
    season: str
    currency: str
    as_of: date
    weddings: int
    booked_minor: int
    last_season: str
    last_as_of: date = Field(description="The same calendar day a year earlier")
    last_weddings: int
    last_booked_minor: int
    change_weddings: int
    change_ratio: float | None = Field(description="(weddings - last_weddings) / last_weddings; null when 0")


class Unassigned(BaseModel):
    currency: str
    bookings: int = Field(description="Booking ids (or unnamed) the money refers to")
    paid_minor: int = Field(description="Received minus refunded")


class Weddings(BaseModel):
    by: By
    first_day: date = Field(description="First wedding date covered")
    last_day: date = Field(description="Last wedding date covered")
    today: date = Field(description="Today in the organization's zone")
    timezone: str
    season_start_month: int
    periods: list[WeddingPeriod]
    due: Due
    pace: list[Pace]
    unassigned: list[Unassigned] = Field(description="Money not (yet) tied to a confirmed booking in its currency")


def _bookings(conn: Connection[Any], org_id: UUID, first: date, last: date) -> list[_Booking]:
    return db.fetch_all(conn, "wedding_bookings", {"organization_id": org_id, "first": first, "last": last}, _Booking)


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _key(by: By, day: date, start_month: int) -> tuple[str, date, date]:
    if by == "month":
        return day.strftime("%Y-%m"), day.replace(day=1), _month_end(day)
    year = seasons.of(day, start_month)
    lo, hi = seasons.bounds(year, start_month)
    return seasons.label(year, start_month), lo, hi - timedelta(days=1)


def _periods(rows: list[_Booking], by: By, start_month: int) -> list[WeddingPeriod]:
    acc: dict[tuple[str, date, date, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for b in rows:
        slot = acc[(*_key(by, b.wedding_date, start_month), b.currency)]
        live = b.cancelled_at is None
        slot[0] += live
        slot[1] += b.value_minor if live else 0
        slot[2] += b.paid
        slot[3] += b.outstanding
        slot[4] += not live
    return [
        WeddingPeriod(
            period=p,
            first_day=lo,
            last_day=hi,
            currency=cur,
            weddings=s[0],
            booked_minor=s[1],
            paid_minor=s[2],
            outstanding_minor=s[3],
            cancelled=s[4],
        )
        for (p, lo, hi, cur), s in sorted(acc.items())
    ]


def _due(rows: list[_Booking], today: date, within: int, lead: int) -> Due:
    until = today + timedelta(days=within)
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for b in rows:
        if b.outstanding > 0 and today <= b.wedding_date - timedelta(days=lead) <= until:
            acc[b.currency][0] += 1
            acc[b.currency][1] += b.outstanding
    return Due(
        within_days=within,
        lead_days=lead,
        due_from=today,
        due_to=until,
        balances=[DueBalance(currency=c, weddings=n, outstanding_minor=v) for c, (n, v) in sorted(acc.items())],
    )


def _as_of(rows: list[_Booking], cutoff: datetime) -> dict[str, list[int]]:
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for b in rows:
        if b.first_confirmed_at < cutoff and (b.cancelled_at is None or b.cancelled_at >= cutoff):
            acc[b.currency][0] += 1
            acc[b.currency][1] += b.value_minor
    return acc


def _pace(rows: list[_Booking], years: list[int], start_month: int, today: date, now: datetime) -> list[Pace]:
    last_today = seasons.same_day_last_year(today)
    last_cutoff = now - timedelta(days=(today - last_today).days)
    out: list[Pace] = []
    for year in years:
        lo, hi = seasons.bounds(year, start_month)
        plo, phi = seasons.bounds(year - 1, start_month)
        current = _as_of([b for b in rows if lo <= b.wedding_date < hi], now)
        last = _as_of([b for b in rows if plo <= b.wedding_date < phi], last_cutoff)
        for cur in sorted(set(current) | set(last)):
            n, v = current.get(cur, [0, 0])
            ln, lv = last.get(cur, [0, 0])
            out.append(
                Pace(
                    season=seasons.label(year, start_month),
                    currency=cur,
                    as_of=today,
                    weddings=n,
                    booked_minor=v,
                    last_season=seasons.label(year - 1, start_month),
                    last_as_of=last_today,
                    last_weddings=ln,
                    last_booked_minor=lv,
                    change_weddings=n - ln,
                    change_ratio=(n - ln) / ln if ln else None,
                )
            )
    return out


def answer(
    conn: Connection[Any],
    org_id: UUID,
    by: By,
    first: date | None = None,
    last: date | None = None,
    *,
    due_within: int = 30,
    lead_days: int | None = None,
    now: datetime | None = None,
) -> Weddings:
    """The wedding-date axis of one organization for weddings in [first, last] (default: this season and the
    next), with balances due in the next `due_within` days and the pace of every season the range touches."""
    org = timeframes.load_org(conn, org_id)
    now = now or datetime.now(UTC)
    today = now.astimezone(org.tz).date()
    start_month = seasons.settings_month()
    lead = seasons.settings_lead_days() if lead_days is None else lead_days
    this_season = seasons.of(today, start_month)
    first = first or seasons.bounds(this_season, start_month)[0]
    last = last or seasons.bounds(this_season + 1, start_month)[1] - timedelta(days=1)
    if last < first:
        raise errors.InvalidInput("to must not be before from")
    years = list(range(seasons.of(first, start_month), seasons.of(last, start_month) + 1))
    lo = min(seasons.bounds(years[0] - 1, start_month)[0], today)
    hi = max(last, today + timedelta(days=due_within + lead))
    rows = _bookings(conn, org_id, lo, hi)
    unassigned = db.fetch_all(conn, "wedding_unassigned", {"organization_id": org_id}, _UnassignedRow)
    return Weddings(
        by=by,
        first_day=first,
        last_day=last,
        today=today,
        timezone=org.tz.key,
        season_start_month=start_month,
        periods=_periods([b for b in rows if first <= b.wedding_date <= last], by, start_month),
        due=_due(rows, today, due_within, lead),
        pace=_pace(rows, years, start_month, today, now),
        unassigned=[
            Unassigned(currency=u.currency, bookings=u.bookings, paid_minor=u.paid_minor - u.refunded_minor)
            for u in unassigned
        ],
    )


class _UnassignedRow(BaseModel):
    currency: str
    bookings: int
    paid_minor: int
    refunded_minor: int


def season_lines(answer: Weddings) -> list[str]:
    """The season pipeline in words, one line per season and currency of a `by="season"` answer, e.g. '2027
    season: 34 weddings booked, 120,000.00 GBP booked, 40,000.00 GBP paid, 80,000.00 GBP outstanding; balances
    due in the next 30 days: 2 weddings, 9,000.00 GBP'. Amounts exact, never summed across currencies."""
    due = {d.currency: d for d in answer.due.balances}
    lines = []
    for p in answer.periods:
        d = due.get(p.currency)
        soon = (
            f"{d.weddings} wedding{'s' * (d.weddings != 1)}, {_money(d.outstanding_minor, p.currency)}" if d else "none"
        )
        lines.append(
            f"{p.period} season: {p.weddings} wedding{'s' * (p.weddings != 1)} booked, "
            f"{_money(p.booked_minor, p.currency)} booked, {_money(p.paid_minor, p.currency)} paid, "
            f"{_money(p.outstanding_minor, p.currency)} outstanding; "
            f"balances due in the next {answer.due.within_days} days: {soon}"
        )
    return lines


def _money(minor: int, code: str) -> str:
    return currencies.format_minor(minor, code) if currencies.is_known(code) else f"{minor} {code} (minor units)"
