"""An independent model of the per-booking and per-client definitions (docs/metrics.md), written from the
definitions rather than the SQL: given the events an organization sent (dicts as posted, duplicates removed),
what the wedding-date axis and the each-booking-once / each-client-once metrics must say."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any


def when(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"]).astimezone(UTC)


@dataclass
class Booking:
    first_confirmed: datetime
    wedding_date: date
    currency: str
    value_minor: int
    cancelled: datetime | None
    paid_minor: int = 0  # received minus refunded, in the booking's currency

    @property
    def outstanding(self) -> int:
        return 0 if self.cancelled else max(self.value_minor - self.paid_minor, 0)


def bookings(events: list[dict[str, Any]], org_currency: str) -> dict[str, Booking]:
    """Confirmed bookings: first confirmation's time, the latest confirmation's terms, the first cancellation,
    and the money of the payments naming them (refunds naming only a payment follow that payment)."""
    confirmations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["type"] == "booking.confirmed":
            confirmations[e["data"]["booking_id"]].append(e)
    out: dict[str, Booking] = {}
    for bid, found in confirmations.items():
        latest = max(found, key=when)  # instants are distinct in the generated streams
        cancels = [when(e) for e in events if e["type"] == "booking.cancelled" and e["data"]["booking_id"] == bid]
        out[bid] = Booking(
            min(when(e) for e in found),
            date.fromisoformat(latest["data"]["wedding_date"]),
            latest["data"].get("currency", org_currency),
            latest["data"]["value_minor"],
            min(cancels) if cancels else None,
        )
    payment_booking: dict[str, str] = {}  # a payment id reused for several bookings: the greatest booking id
    for e in events:
        if e["type"] == "payment.succeeded" and e["data"].get("booking_id"):
            pid, bid = e["data"]["payment_id"], e["data"]["booking_id"]
            payment_booking[pid] = max(bid, payment_booking.get(pid, bid))
    for e in events:
        if e["type"] not in ("payment.succeeded", "payment.refunded"):
            continue
        owner = e["data"].get("booking_id") or payment_booking.get(e["data"].get("payment_id", ""))
        b = out.get(owner or "")
        if b is not None and e["data"].get("currency", org_currency) == b.currency:
            sign = 1 if e["type"] == "payment.succeeded" else -1
            b.paid_minor += sign * e["data"]["amount_minor"]
    return out


def by_wedding_month(booked: dict[str, Booking], first: date, last: date) -> dict[tuple[str, str], list[int]]:
    """(YYYY-MM, currency) -> [weddings, booked, paid, outstanding, cancelled] for weddings in [first, last]."""
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for b in booked.values():
        if first <= b.wedding_date <= last:
            row = out[(b.wedding_date.strftime("%Y-%m"), b.currency)]
            row[0] += b.cancelled is None
            row[1] += b.value_minor if b.cancelled is None else 0
            row[2] += b.paid_minor
            row[3] += b.outstanding
            row[4] += b.cancelled is not None
    return dict(out)


def due(booked: dict[str, Booking], today: date, within: int, lead: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for b in booked.values():
        if b.outstanding > 0 and today <= b.wedding_date - timedelta(days=lead) <= today + timedelta(days=within):
            out[b.currency][0] += 1
            out[b.currency][1] += b.outstanding
    return dict(out)


def counted(events: list[dict[str, Any]], org_currency: str, start: datetime, end: datetime) -> dict[str, Any]:
    """new_clients, bookings, booking_value (per currency), cancellations and net_bookings over the buckets
    starting in [floor15(start), end)."""

    def inside(t: datetime) -> bool:
        lo = start.astimezone(UTC).replace(second=0, microsecond=0)
        lo -= timedelta(minutes=lo.minute % 15)
        b = t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)
        return lo <= b < end

    firsts: dict[str, datetime] = {}
    for e in events:
        if e.get("client_id"):
            t = when(e)
            firsts[e["client_id"]] = min(t, firsts.get(e["client_id"], t))
    booked = bookings(events, org_currency)
    made = [b for b in booked.values() if inside(b.first_confirmed)]
    value: dict[str, int] = defaultdict(int)
    for b in made:
        value[b.currency] += b.value_minor
    cancelled = sum(1 for b in booked.values() if b.cancelled and inside(b.cancelled))
    return {
        "new_clients": sum(1 for t in firsts.values() if inside(t)),
        "bookings": len(made),
        "booking_value": dict(value),
        "cancellations": cancelled,
        "net_bookings": len(made) - cancelled,
    }
