"""An independent model of the aggregation, written from the metric definitions in docs/aggregation.md: given
the events an organization sent (dicts as posted), what the rollups and views must contain."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

MONEY_TYPES = {"booking.confirmed", "payment.succeeded", "payment.failed", "payment.refunded"}

_DIM1 = {
    "client.created": "lead_source",
    "inquiry.received": "lead_source",
    "booking.confirmed": "package",
    "payment.succeeded": "kind",
    "payment.failed": "kind",
    "form.started": "form_id",
    "form.submitted": "form_id",
    "app.action": "action",
}
_DIM2 = {
    "inquiry.received": "channel",
    "booking.confirmed": "lead_source",
    "form.submitted": "lead_source",
    "payment.succeeded": "method",
    "payment.failed": "failure_code",
    "journey.step_completed": "step_id",
    "app.action": "user_id",
}
# Defaults the catalog fills in when a sender leaves the field out.
_DEFAULTS = {
    ("inquiry.received", "channel"): "web_form",
    ("payment.succeeded", "kind"): "other",
    ("payment.failed", "kind"): "other",
}


def when(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"]).astimezone(UTC)


def bucket(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def _field(event: dict[str, Any], name: str | None) -> str:
    if name is None:
        return ""
    value = event["data"].get(name, _DEFAULTS.get((event["type"], name)))
    return "" if value is None else str(value)


def stored(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events kept: the first of each event_id."""
    seen: set[str] = set()
    kept = []
    for event in sent:
        if event["event_id"] not in seen:
            seen.add(event["event_id"])
            kept.append(event)
    return kept


def rollups(events: list[dict[str, Any]], tz: ZoneInfo, org_currency: str) -> dict[tuple[str, ...], list[int]]:
    """(metric, bucket iso, dim1, dim2, currency) -> [events, amount_minor, value_sum, value_count]."""
    out: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])

    def add(metric: str, at: datetime, d1: str, d2: str, cur: str, amount: int, value: int | None) -> None:
        row = out[(metric, bucket(at).isoformat(), d1, d2, cur)]
        row[0] += 1
        row[1] += amount
        if value is not None:
            row[2] += value
            row[3] += 1

    for e in events:
        t, data, at = e["type"], e["data"], when(e)
        cur = data.get("currency", org_currency) if t in MONEY_TYPES else ""
        amount = data.get("amount_minor", data.get("value_minor", 0)) if t in MONEY_TYPES else 0
        if t == "review.received":
            if "rating" in data:
                add("review.rating", at, data.get("platform", ""), "", "", 0, data["rating"])
            if "nps" in data:
                cls = "promoter" if data["nps"] >= 9 else "passive" if data["nps"] >= 7 else "detractor"
                add("review.nps", at, data.get("platform", ""), cls, "", 0, data["nps"])
            continue
        if t.startswith(("email.", "notification.")):
            d1 = _field(e, "template")
            d2 = _field(e, "campaign" if t.startswith("email.") else "channel")
        elif t.startswith("journey."):
            d1, d2 = _field(e, "journey_id"), _field(e, _DIM2.get(t))
        else:
            d1, d2 = _field(e, _DIM1.get(t)), _field(e, _DIM2.get(t))
        value = data.get("duration_ms") if t in ("journey.completed", "journey.abandoned") else None
        value = value if value is None or value < 10**15 else None  # absurd durations are ignored
        add(t, at, d1, d2, cur, amount, value)
        if t == "booking.confirmed":
            wedding = date.fromisoformat(data["wedding_date"])
            add(
                "booking.wedding_month",
                at,
                wedding.strftime("%Y-%m"),
                _field(e, "lead_source"),
                cur,
                amount,
                (wedding - at.astimezone(tz).date()).days,
            )
    return dict(out)


def active_clients(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(bucket(when(e)).isoformat(), e["client_id"]) for e in events if e.get("client_id")}


def daily(rows: dict[tuple[str, ...], list[int]], tz: ZoneInfo) -> dict[tuple[str, ...], list[int]]:
    """The 15-minute model rows summed per local day: (metric, day iso, dim1, dim2, currency) -> sums."""
    out: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (metric, at, d1, d2, cur), sums in rows.items():
        day = datetime.fromisoformat(at).astimezone(tz).date().isoformat()
        out[(metric, day, d1, d2, cur)] = [a + b for a, b in zip(out[(metric, day, d1, d2, cur)], sums, strict=True)]
    return dict(out)


def client_day_firsts(events: list[dict[str, Any]], tz: ZoneInfo) -> dict[tuple[date, date], int]:
    """(local day, previous active local day or date.min) -> clients active that day."""
    days: dict[str, set[date]] = defaultdict(set)
    for e in events:
        if e.get("client_id"):
            days[e["client_id"]].add(when(e).astimezone(tz).date())
    out: Counter[tuple[date, date]] = Counter()
    for seen in days.values():
        ordered = sorted(seen)
        for prev, day in zip([date.min, *ordered], ordered, strict=False):
            out[(day, prev)] += 1
    return dict(out)


def active_in(events: list[dict[str, Any]], start: datetime, end: datetime) -> int:
    """Distinct clients with an event in a bucket starting in [floor15(start), end)."""
    lo = bucket(start)
    return len({e["client_id"] for e in events if e.get("client_id") and lo <= bucket(when(e)) < end})


@dataclass
class Booking:
    client_id: str | None
    booked_at: datetime
    value_minor: int
    currency: str
    wedding_date: date
    cancelled_at: datetime | None
    deposit_paid_at: datetime | None
    balance_paid_at: datetime | None


def bookings(events: list[dict[str, Any]], org_currency: str) -> dict[str, Booking]:
    """Per booking id: its latest confirmation and the first cancellation, deposit and balance payment."""
    found: dict[str, Booking] = {}
    for e in sorted((e for e in events if e["type"] == "booking.confirmed"), key=when):
        d = e["data"]
        found[d["booking_id"]] = Booking(
            e.get("client_id"),
            when(e),
            d["value_minor"],
            d.get("currency", org_currency),
            date.fromisoformat(d["wedding_date"]),
            None,
            None,
            None,
        )

    def first(kind: str, booking_id: str) -> datetime | None:
        times = [
            when(e)
            for e in events
            if e["data"].get("booking_id") == booking_id
            and (
                (kind == "cancel" and e["type"] == "booking.cancelled")
                or (e["type"] == "payment.succeeded" and e["data"].get("kind", "other") == kind)
            )
        ]
        return min(times) if times else None

    for booking_id, b in found.items():
        b.cancelled_at, b.deposit_paid_at, b.balance_paid_at = (
            first("cancel", booking_id),
            first("deposit", booking_id),
            first("balance", booking_id),
        )
    return found


def funnel(events: list[dict[str, Any]], booked: dict[str, Booking]) -> dict[str, tuple[Any, ...]]:
    """client -> (first inquiry at, first booked at, first deposit at, first balance at)."""
    firsts: dict[str, datetime] = {}
    for e in events:
        if e["type"] == "inquiry.received" and e.get("client_id"):
            t = when(e)
            if e["client_id"] not in firsts or t < firsts[e["client_id"]]:
                firsts[e["client_id"]] = t
    out = {}
    for client, inquired in firsts.items():
        mine = [b for b in booked.values() if b.client_id == client]

        def earliest(values: list[datetime | None]) -> datetime | None:
            present = [v for v in values if v is not None]
            return min(present) if present else None

        out[client] = (
            inquired,
            earliest([b.booked_at for b in mine]),
            earliest([b.deposit_paid_at for b in mine]),
            earliest([b.balance_paid_at for b in mine]),
        )
    return out


def cohorts(funnel_rows: dict[str, tuple[Any, ...]], tz: ZoneInfo) -> dict[date, tuple[int, int, int, int]]:
    acc: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for inquired, booked, deposit, balance in funnel_rows.values():
        month = inquired.astimezone(tz).date().replace(day=1)
        row = acc[month]
        row[0] += 1
        row[1] += booked is not None
        row[2] += deposit is not None
        row[3] += balance is not None
    return {k: (v[0], v[1], v[2], v[3]) for k, v in acc.items()}


def lead_times(
    funnel_rows: dict[str, tuple[Any, ...]], booked: dict[str, Booking], tz: ZoneInfo
) -> Counter[tuple[str, date, int]]:
    out: Counter[tuple[str, date, int]] = Counter()
    for inquired, first_booked, _, _ in funnel_rows.values():
        if first_booked is not None and first_booked >= inquired:
            days = math.floor((first_booked - inquired) / timedelta(days=1))
            out[("inquiry_to_booking", first_booked.astimezone(tz).date().replace(day=1), days)] += 1
    for b in booked.values():
        if b.cancelled_at is None:
            local = b.booked_at.astimezone(tz).date()
            out[("booking_to_wedding", local.replace(day=1), (b.wedding_date - local).days)] += 1
    return out
