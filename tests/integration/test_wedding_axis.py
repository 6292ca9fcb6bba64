"""The wedding-date axis and the each-booking-once / each-client-once definitions, against an independent
recomputation (tests/wedding_model.py): partial payments, refunds (by booking and by payment only),
cancellations, re-confirmations, a payment in another currency, payments before their booking, arrival in any
order and in several batches, resent events, and a rebuild of the state, which must change nothing."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.aggregate import aggregation, recovery
from shared.core import db
from shared.metrics import rollups, weddings
from shared.monitor import erasure
from shared.validate import validation
from tests import factories
from tests import wedding_model as model

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()


def _post(app: Any, key: str, events: list[dict[str, Any]]) -> None:
    answer = app.post(
        "/v1/events",
        data=json.dumps({"events": events}),
        headers={"Authorization": f"Bearer {key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.json
    assert answer.json["rejected"] == [], answer.json


def _drain() -> None:
    assert not validation.drain(db.transaction)[1]
    assert not aggregation.drain(db.transaction)[1]


def _stream(rng: random.Random) -> list[dict[str, Any]]:
    """Bookings of weddings over the next year and a half, with everything that can happen to their money."""
    events: list[dict[str, Any]] = []
    tick = iter(range(10**6))

    def ev(type_: str, days_ago: float, **data: Any) -> None:
        at = NOW - timedelta(days=days_ago, seconds=next(tick))  # distinct instants: "latest" is well defined
        client = data.pop("client", f"c-{rng.randrange(6)}")
        events.append(factories.make_event(type_, occurred_at=at.isoformat(), client_id=client, **data))

    for n in range(12):
        bid, cur = f"b-{n}", rng.choice(["GBP", "GBP", "EUR"])
        wedding = TODAY + timedelta(days=rng.randrange(-20, 500))
        value = rng.randrange(100_000, 600_000)
        ev(
            "booking.confirmed",
            rng.uniform(5, 300),
            booking_id=bid,
            value_minor=value,
            currency=cur,
            wedding_date=wedding.isoformat(),
        )
        if rng.random() < 0.4:  # re-confirmed later with new terms
            ev(
                "booking.confirmed",
                rng.uniform(0, 5),
                booking_id=bid,
                value_minor=value + 50_000,
                currency=cur,
                wedding_date=(wedding + timedelta(days=rng.randrange(0, 40))).isoformat(),
            )
        for p in range(rng.randrange(0, 4)):  # partial payments, some before the confirmation
            pid = f"p-{n}-{p}"
            ev(
                "payment.succeeded",
                rng.uniform(0, 320),
                payment_id=pid,
                booking_id=bid,
                currency=cur,
                amount_minor=rng.randrange(10_000, 250_000),
                kind=rng.choice(["deposit", "balance"]),
            )
            if rng.random() < 0.3:
                ev(
                    "payment.refunded",
                    rng.uniform(0, 5),
                    payment_id=pid,
                    amount_minor=5_000,
                    currency=cur,
                    booking_id=bid if rng.random() < 0.5 else None,
                )
        if rng.random() < 0.15:  # paid in another currency than the booking's: not netted
            ev("payment.succeeded", 1, payment_id=f"px-{n}", booking_id=bid, currency="JPY", amount_minor=7_000)
        if rng.random() < 0.25:
            for _ in range(rng.choice([1, 2])):  # cancelled, sometimes twice
                ev("booking.cancelled", rng.uniform(0, 4), booking_id=bid)
    ev("payment.succeeded", 2, payment_id="p-orphan", booking_id="b-never", currency="GBP", amount_minor=9_000)
    ev("booking.cancelled", 2, booking_id="b-never-confirmed")
    return events


def _check(conn: psycopg.Connection[Any], org_id: Any, kept: list[dict[str, Any]]) -> None:
    first, last = TODAY - timedelta(days=40), TODAY + timedelta(days=600)
    answer = weddings.answer(conn, org_id, "month", first, last, due_within=30, lead_days=10, now=NOW)
    booked = model.bookings(kept, "GBP")
    got = {
        (p.period, p.currency): [p.weddings, p.booked_minor, p.paid_minor, p.outstanding_minor, p.cancelled]
        for p in answer.periods
    }
    assert got == model.by_wedding_month(booked, first, last)
    assert answer.today == TODAY
    due = {d.currency: [d.weddings, d.outstanding_minor] for d in answer.due.balances}
    assert due == model.due(booked, TODAY, 30, 10)
    seasons = weddings.answer(conn, org_id, "season", first, last, now=NOW)
    assert sum(p.outstanding_minor for p in seasons.periods) == sum(p.outstanding_minor for p in answer.periods)
    jpy = sum(e["data"]["amount_minor"] for e in kept if e["data"].get("currency") == "JPY")
    assert {u.currency: u.paid_minor for u in answer.unassigned} == {"GBP": 9_000} | ({"JPY": jpy} if jpy else {})
    start, end = NOW - timedelta(days=400), NOW + timedelta(minutes=1)
    totals = rollups.totals(conn, org_id, start, end).metrics
    want = model.counted(kept, "GBP", start, end)
    for name in ("new_clients", "bookings", "cancellations", "net_bookings"):
        assert totals[name][0].value == want[name], name
    assert {v.currency: v.value for v in totals["booking_value"] if v.value} == want["booking_value"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_outstanding_balances_by_wedding_month_equal_a_recomputation_in_any_arrival_order(
    seed: int, ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    rng = random.Random(seed)
    org = make_org(currency="GBP")
    events = _stream(rng)
    arrivals = events + rng.sample(events, 5)  # resent copies are stored once
    rng.shuffle(arrivals)
    cut = len(arrivals) // 3
    for part in (arrivals[:cut], arrivals[cut : 2 * cut], arrivals[2 * cut :]):
        _post(ingest_app, org.ingest_key, part)
        _drain()
    _check(conn, org.id, events)
    _post(ingest_app, org.ingest_key, rng.sample(events, 10))  # a replayed batch changes nothing
    _drain()
    with db.transaction() as c:
        recovery.rebuild_state(c, org.id)
    _check(conn, org.id, events)


def test_a_cancelled_booking_leaves_the_weddings_keeps_its_money_and_its_refunds_reduce_paid(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(currency="GBP")
    wedding = (TODAY + timedelta(days=20)).isoformat()
    at = (NOW - timedelta(days=3)).isoformat()
    _post(
        ingest_app,
        org.ingest_key,
        [
            # the payment and the refund arrive before the booking they belong to
            factories.make_event(
                "payment.succeeded",
                occurred_at=at,
                payment_id="p1",
                booking_id="b1",
                amount_minor=100_000,
                currency="GBP",
            ),
            factories.make_event(
                "payment.refunded",
                occurred_at=at,
                payment_id="p1",
                amount_minor=30_000,
                currency="GBP",
                booking_id=None,
            ),
        ],
    )
    _drain()
    first = weddings.answer(conn, org.id, "month", now=NOW)
    assert first.periods == [] and [u.paid_minor for u in first.unassigned] == [70_000]
    _post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event(
                "booking.confirmed",
                occurred_at=at,
                booking_id="b1",
                value_minor=400_000,
                currency="GBP",
                wedding_date=wedding,
            ),
            factories.make_event(
                "booking.confirmed",
                occurred_at=at,
                booking_id="b2",
                value_minor=250_000,
                currency="GBP",
                wedding_date=wedding,
            ),
        ],
    )
    _drain()
    answer = weddings.answer(conn, org.id, "month", now=NOW)
    [month] = answer.periods
    assert (month.weddings, month.booked_minor, month.paid_minor, month.outstanding_minor) == (
        2,
        650_000,
        70_000,
        330_000 + 250_000,
    )
    assert answer.unassigned == []
    assert [(d.weddings, d.outstanding_minor) for d in answer.due.balances] == [(2, 580_000)]
    _post(ingest_app, org.ingest_key, [factories.make_event("booking.cancelled", booking_id="b1")])
    _drain()
    [month] = weddings.answer(conn, org.id, "month", now=NOW).periods
    assert (month.weddings, month.booked_minor, month.paid_minor, month.outstanding_minor, month.cancelled) == (
        1,
        250_000,
        70_000,
        250_000,
        1,
    )


def test_pace_compares_each_season_with_the_season_before_at_the_same_day_last_year(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(currency="GBP")
    this, nxt = TODAY.year, TODAY.year + 1
    year_ago = NOW - timedelta(days=365)

    def book(bid: str, wedding_year: int, at: datetime, value: int = 100_000) -> dict[str, Any]:
        return factories.make_event(
            "booking.confirmed",
            occurred_at=at.isoformat(),
            booking_id=bid,
            value_minor=value,
            currency="GBP",
            wedding_date=f"{wedding_year}-07-04",
        )

    events = [
        book("n1", nxt, NOW - timedelta(days=10)),
        book("n2", nxt, NOW - timedelta(days=100)),
        book("n3", nxt, NOW - timedelta(days=50), 300_000),
        book("t1", this, year_ago - timedelta(days=30)),  # booked by this day last year
        book("t2", this, year_ago - timedelta(days=5)),  # booked by then, cancelled after: counted then
        book("t3", this, year_ago + timedelta(days=20)),  # booked after this day last year: not yet then
        book("t4", this, year_ago - timedelta(days=60)),  # cancelled before this day last year
        factories.make_event(
            "booking.cancelled", booking_id="t2", occurred_at=(year_ago + timedelta(days=9)).isoformat()
        ),
        factories.make_event(
            "booking.cancelled", booking_id="t4", occurred_at=(year_ago - timedelta(days=9)).isoformat()
        ),
    ]
    _post(ingest_app, org.ingest_key, events)
    _drain()
    answer = weddings.answer(conn, org.id, "season", date(nxt, 1, 1), date(nxt, 12, 31), now=NOW)
    [pace] = answer.pace
    assert (pace.season, pace.last_season) == (str(nxt), str(this))
    assert (pace.weddings, pace.booked_minor) == (3, 500_000)
    assert (pace.last_weddings, pace.last_booked_minor) == (2, 200_000)
    assert pace.change_weddings == 1 and pace.change_ratio == pytest.approx(0.5)
    assert pace.last_as_of.replace(year=pace.as_of.year) == pace.as_of or pace.as_of.month == 2


def test_a_state_rebuild_after_retention_keeps_what_only_the_removed_events_knew_and_erasure_forgets_the_client(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(currency="GBP")
    old, recent = NOW - timedelta(days=800), NOW - timedelta(days=3)
    wedding = (TODAY + timedelta(days=15)).isoformat()
    events = [
        factories.make_event("inquiry.received", occurred_at=old.isoformat(), client_id="c-old"),
        factories.make_event(
            "booking.confirmed",
            occurred_at=old.isoformat(),
            client_id="c-old",
            booking_id="b-old",
            value_minor=500_000,
            currency="GBP",
            wedding_date=wedding,
        ),
        factories.make_event(
            "payment.succeeded",
            occurred_at=old.isoformat(),
            client_id="c-old",
            payment_id="p-old",
            booking_id="b-old",
            amount_minor=100_000,
            currency="GBP",
        ),
        factories.make_event(
            "payment.succeeded",
            occurred_at=recent.isoformat(),
            client_id="c-old",
            payment_id="p-new",
            booking_id="b-old",
            amount_minor=50_000,
            currency="GBP",
        ),
        factories.make_event("inquiry.received", occurred_at=recent.isoformat(), client_id="c-old"),
        factories.make_event("inquiry.received", occurred_at=recent.isoformat(), client_id="c-new"),
    ]
    _post(ingest_app, org.ingest_key, events)
    _drain()
    window = (NOW - timedelta(days=900), NOW + timedelta(minutes=1))

    def numbers() -> tuple[Any, ...]:
        t = rollups.totals(conn, org.id, *window).metrics
        [month] = weddings.answer(conn, org.id, "month", now=NOW).periods
        recent_new = rollups.totals(conn, org.id, NOW - timedelta(days=10), window[1]).metrics["new_clients"]
        return t["new_clients"][0].value, t["bookings"][0].value, month.paid_minor, recent_new[0].value

    before = numbers()
    assert before == (2, 1, 150_000, 1)
    # retention removes raw events older than its cutoff and leaves the rollups (and this state) alone
    conn.execute(
        "delete from analytics_events where organization_id = %s and occurred_at < %s",
        (org.id, NOW - timedelta(days=730)),
    )
    with db.transaction() as c:
        recovery.rebuild_state(c, org.id)
    assert numbers() == before  # c-old is not new again, b-old keeps its first payment and is not counted twice
    with db.transaction() as c:
        erasure.erase_client(c, org.id, "c-new")
    clients = {
        r[0] for r in conn.execute("select client_id from analytics_clients where organization_id = %s", (org.id,))
    }
    assert clients == {"c-old"}
    # a booking kept as history keeps its numbers but not the name of a client erased later
    named = "select booking_id, client_id from analytics_bookings where organization_id = %s"
    assert conn.execute(named, (org.id,)).fetchall() == [("b-old", "c-old")]
    with db.transaction() as c:
        erasure.erase_client(c, org.id, "c-old")
    assert conn.execute(named, (org.id,)).fetchall() == [("b-old", None)]
