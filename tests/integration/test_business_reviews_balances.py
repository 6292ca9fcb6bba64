"""The review-score and balance-overdue alerts on generated history: a drop of the recent reviews against the
organization's earlier ones, and what a booking still owes shortly before its wedding (partial payments, refunds,
re-confirmations, cancellations, other currencies), each judged for its own organization only."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg

from shared.core import db
from shared.metrics import weddings
from shared.monitor import alertrules, business, measurements
from tests import business_history as gen
from tests.business_history import NOW


def _reviews(history: gen.History, rng: random.Random, days_ago: range, good: bool, n: int) -> None:
    for _ in range(n):
        at = NOW - timedelta(days=rng.choice(days_ago), hours=3)
        rating = rng.choice([4, 5, 5, 5]) if good else rng.choice([2, 3, 3])
        nps = rng.choice([8, 9, 10, 10]) if good else rng.choice([3, 5, 6])
        history.add("review.received", at, review_id=f"r-{rng.random()}", rating=rating, nps=nps, platform="google")


def _judge_reviews(conn: psycopg.Connection[Any]) -> dict[tuple[Any, str], measurements.CheckResult]:
    with conn.transaction():
        return {(r.organization_id, r.subject): r for r in business.reviews(conn, NOW)}


def test_review_alert_fires_on_a_score_drop_and_not_on_good_or_too_few_recent_reviews(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    dropped, steady, one_bad = make_org(name="Dropped"), make_org(name="Steady"), make_org(name="One bad review")
    rng = random.Random(21)
    for org in (dropped, steady, one_bad):
        history = gen.History(org.id)
        _reviews(history, rng, range(100, 700), good=True, n=40)
        if org is dropped:
            _reviews(history, rng, range(1, 80), good=False, n=6)
        elif org is steady:
            _reviews(history, rng, range(1, 80), good=True, n=6)
        else:
            _reviews(history, rng, range(1, 80), good=False, n=1)
        gen.store(conn, history)
    judged = _judge_reviews(conn)
    for subject in ("rating", "nps"):
        assert judged[(dropped.id, subject)].status == "fail", judged[(dropped.id, subject)].message
        assert judged[(steady.id, subject)].status == "pass", judged[(steady.id, subject)].message
        assert judged[(one_bad.id, subject)].status == "pass"  # one review is not a trend
    assert judged[(dropped.id, "nps")].detail["nps"] < 0 < judged[(steady.id, "nps")].detail["nps"]
    with db.transaction() as tx:
        alertrules.set_thresholds(tx, dropped.id, "business.reviews", {"min_rating_drop": 3.5}, by="test")
    assert _judge_reviews(conn)[(dropped.id, "rating")].status == "pass"  # its own threshold: only a huge drop


def _booking(history: gen.History, booking: str, *, days_ahead: int, value: int, days_ago: int = 200) -> None:
    wedding = (NOW + timedelta(days=days_ahead)).date().isoformat()
    history.add(
        "booking.confirmed",
        NOW - timedelta(days=days_ago),
        booking_id=booking,
        package="full-day",
        value_minor=value,
        currency="GBP",
        wedding_date=wedding,
    )


def _paid(history: gen.History, booking: str, amount: int, *, currency: str = "GBP", kind: str = "succeeded") -> None:
    history.add(f"payment.{kind}", NOW - timedelta(days=30), booking_id=booking, amount_minor=amount, currency=currency)


def _balances(conn: psycopg.Connection[Any]) -> dict[tuple[Any, str], measurements.CheckResult]:
    with conn.transaction():
        return {(r.organization_id, r.subject): r for r in business.balances_overdue(conn, NOW)}


def test_balance_alert_counts_payments_refunds_reconfirmations_and_cancellations_per_organization(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    studio, other = make_org(name="Studio"), make_org(name="Other studio")
    mine = gen.History(studio.id)
    _booking(mine, "B1", days_ahead=10, value=500000)
    _paid(mine, "B1", 200000)
    _booking(mine, "B2", days_ahead=5, value=300000)
    _paid(mine, "B2", 100000)
    _paid(mine, "B2", 200000)
    _booking(mine, "B3", days_ahead=12, value=500000)
    _paid(mine, "B3", 500000)
    _paid(mine, "B3", 100000, kind="refunded")
    _booking(mine, "B4", days_ahead=7, value=400000)
    mine.add("booking.cancelled", NOW - timedelta(days=20), booking_id="B4")
    _booking(mine, "B5", days_ahead=30, value=400000)
    _booking(mine, "B6", days_ahead=8, value=600000, days_ago=300)
    _booking(mine, "B6", days_ahead=9, value=400000, days_ago=100)  # re-confirmed: a smaller package, a new date
    _paid(mine, "B6", 400000)
    _booking(mine, "B7", days_ahead=-1, value=400000)  # yesterday's wedding: no longer "before a wedding"
    _booking(mine, "B8", days_ahead=3, value=100000)
    _paid(mine, "B8", 100000, currency="EUR")
    gen.store(conn, mine)
    theirs = gen.History(other.id)
    _booking(theirs, "B1", days_ahead=10, value=500000)  # the same booking id, fully paid, in another organization
    _paid(theirs, "B1", 500000)
    _paid(theirs, "B2", 999999)  # another organization's payment naming my booking id pays nothing of mine
    gen.store(conn, theirs)

    judged = _balances(conn)
    assert judged[(studio.id, "B1")].status == "fail" and judged[(studio.id, "B1")].value == 300000
    assert judged[(studio.id, "B2")].status == "pass"  # two instalments cover it
    assert judged[(studio.id, "B3")].status == "fail" and judged[(studio.id, "B3")].value == 100000  # refunded
    assert (studio.id, "B4") not in judged  # cancelled
    assert (studio.id, "B5") not in judged  # 30 days away: beyond the default 14
    assert judged[(studio.id, "B6")].status == "pass"  # the latest confirmation's value
    assert (studio.id, "B7") not in judged
    assert judged[(studio.id, "B8")].status == "fail" and "another currency" in judged[(studio.id, "B8")].message
    assert judged[(other.id, "B1")].status == "pass"
    assert {k for k in judged if k[0] == other.id} == {(other.id, "B1")}

    with db.transaction() as tx:
        alertrules.set_thresholds(
            tx, studio.id, "business.balance_overdue", {"days_before": 45, "min_outstanding_minor": 150000}, by="t"
        )
    judged = _balances(conn)
    assert judged[(studio.id, "B5")].status == "fail"  # now within the organization's 45 days
    assert judged[(studio.id, "B3")].status == "pass"  # 100000 owed is below its 150000 minimum
    assert judged[(other.id, "B1")].status == "pass"


def test_balance_alert_and_wedding_axis_read_one_outstanding_from_the_booking_state_kept_past_retention(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(name="Studio")
    history = gen.History(org.id)
    _booking(history, "W1", days_ahead=6, value=300000)
    history.add("payment.succeeded", NOW - timedelta(days=9), booking_id="W1", payment_id="p1", amount_minor=300000,
                currency="GBP")  # fmt: skip
    history.add("payment.refunded", NOW - timedelta(days=5), payment_id="p1", amount_minor=100000, currency="GBP")
    _booking(history, "W2", days_ahead=4, value=100000)
    _paid(history, "W2", 150000)  # overpaid: owes nothing, and lends nothing to another booking
    _booking(history, "W3", days_ahead=9, value=200000, days_ago=300)
    history.add("booking.cancelled", NOW - timedelta(days=200), booking_id="W3")
    _booking(history, "W3", days_ahead=9, value=200000, days_ago=100)  # cancelled once: cancelled, as on the axis
    _booking(history, "W4", days_ahead=11, value=400000)
    _paid(history, "W4", 150000)
    _paid(history, "W4", 90000, currency="EUR")
    gen.store(conn, history)  # stores the events and rebuilds the aggregate state, as `wedsync-analytics rebuild`
    rows = conn.execute("select count(*) from analytics_bookings where organization_id = %s", [org.id]).fetchone()
    assert rows == (4,)  # the alert below reads this state, not the raw events

    judged = {r.subject: r for r in business.balances_overdue(conn, NOW, org.id)}
    verdicts = {s: (r.status, r.value) for s, r in judged.items()}
    assert judged["W1"].status == "fail" and judged["W1"].value == 100000  # a refund naming only its payment
    assert judged["W2"].status == "pass" and judged["W2"].value == 0
    assert "W3" not in judged
    assert judged["W4"].value == 250000 and "1 payment(s) in another currency" in judged["W4"].message

    axis = weddings.answer(conn, org.id, "month", NOW.date(), NOW.date() + timedelta(days=14), now=NOW)
    by_currency = {p.currency: 0 for p in axis.periods}
    for period in axis.periods:
        by_currency[period.currency] += period.outstanding_minor
    assert by_currency == {"GBP": sum(int(r.value or 0) for r in judged.values())} == {"GBP": 350000}

    # Retention may remove the raw events; the state keeps the bookings, so the alert still sees them.
    conn.execute("delete from analytics_events where organization_id = %s", [org.id])
    assert {r.subject: (r.status, r.value) for r in business.balances_overdue(conn, NOW, org.id)} == verdicts
