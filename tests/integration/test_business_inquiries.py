"""The inquiry and payment-failure alerts on generated seasonal history (three years of weekly inquiries with a
yearly curve and Poisson noise, a fixed seed): they fire on the dip, stay quiet on every normal week of the last
year (a small business too), honour an organization's thresholds, and judge each organization on its own data."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg

from shared.core import db
from shared.monitor import alertrules, business, measurements
from tests import business_history as gen
from tests.business_history import NOW

WEEKS = gen.weeks_before(NOW, 3 * 52)
DIP_WEEK = WEEKS[-1]  # the 7 local days the check judges at NOW


def _by_org(results: list[measurements.CheckResult]) -> dict[Any, measurements.CheckResult]:
    return {r.organization_id: r for r in results}


def _inquiries(conn: psycopg.Connection[Any], now: datetime) -> dict[Any, measurements.CheckResult]:
    with conn.transaction():
        return _by_org(business.inquiries(conn, now))


def test_inquiries_alert_fires_on_a_seasonal_dip_and_stays_quiet_on_every_normal_week(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    dipped, steady, small, newcomer = (make_org(name=n) for n in ("Dipped", "Steady", "Small", "Newcomer"))
    for org, base, dip in ((dipped, 20.0, {DIP_WEEK: 0.1}), (steady, 20.0, {}), (small, 3.0, {})):
        history = gen.History(org.id)
        gen.seasonal_inquiries(history, random.Random(16), base=base, weeks=WEEKS, dip=dip)
        gen.store(conn, history)
    recent = gen.History(newcomer.id)
    gen.seasonal_inquiries(recent, random.Random(3), base=20.0, weeks=WEEKS[-3:], dip={DIP_WEEK: 0.0})
    gen.store(conn, recent)

    judged = _inquiries(conn, NOW)
    assert judged[dipped.id].status == "fail", judged[dipped.id].message
    assert judged[dipped.id].detail["method"] == "seasonal"
    assert judged[dipped.id].value is not None and judged[dipped.id].value < judged[dipped.id].detail["expected"] / 3
    assert judged[steady.id].status == "pass", judged[steady.id].message  # same history without the dip
    assert judged[small.id].status == "pass"
    assert judged[newcomer.id].status == "pass" and "learning" in judged[newcomer.id].message  # 3 weeks: too new

    quiet_weeks = 0
    for back in range(1, 53):  # every week of the last year before the dip, in every season
        week = _inquiries(conn, NOW - timedelta(weeks=back))
        for org in (dipped, steady, small):
            assert week[org.id].status == "pass", (back, org.name, week[org.id].message)
        quiet_weeks += 1
    assert quiet_weeks == 52


def test_a_small_business_with_about_three_inquiries_a_week_does_not_alert_on_a_week_of_one(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(name="Tiny")
    history = gen.History(org.id)
    rng = random.Random(7)
    for start in WEEKS[:-1]:
        history.add("inquiry.received", start, gen.poisson(rng, 3.0), channel="email")
    history.add("inquiry.received", DIP_WEEK, 1, channel="email")
    gen.store(conn, history)
    result = _inquiries(conn, NOW)[org.id]
    assert result.status == "pass", result.message
    assert result.value == 1 and 2.0 <= result.detail["expected"] <= 4.5


def test_an_organizations_own_thresholds_decide_whether_its_dip_alerts(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    strict, lenient = make_org(name="Strict"), make_org(name="Lenient")
    for org in (strict, lenient):
        history = gen.History(org.id)
        gen.seasonal_inquiries(history, random.Random(16), base=20.0, weeks=WEEKS, dip={DIP_WEEK: 0.55})
        gen.store(conn, history)
    assert {r.status for r in _inquiries(conn, NOW).values()} == {"pass"}  # a 45 % dip: not "well below" by default
    with db.transaction() as tx:
        alertrules.set_thresholds(
            tx, lenient.id, "business.inquiries", {"p_value": 0.2, "drop_ratio": 0.9, "spread_factor": 0}, by="test"
        )
    judged = _inquiries(conn, NOW)
    assert judged[lenient.id].status == "fail" and judged[strict.id].status == "pass"


def _payments(history: gen.History, rng: random.Random, start: datetime, attempts: int, failure_rate: float) -> None:
    failed = sum(1 for _ in range(attempts) if rng.random() < failure_rate)
    history.add("payment.succeeded", start, attempts - failed, amount_minor=50000, currency="GBP", kind="balance")
    history.add("payment.failed", start, failed, amount_minor=50000, currency="GBP", failure_code="card_declined")


def test_payment_failures_alert_fires_above_the_usual_rate_only_for_that_organization(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    failing, fine, small = make_org(name="Failing"), make_org(name="Fine"), make_org(name="Small payer")
    rng = random.Random(18)
    for org, attempts in ((failing, 40), (fine, 40), (small, 4)):
        history = gen.History(org.id)
        for start in WEEKS[-40:-1]:
            _payments(history, rng, start, attempts, 0.05)
        _payments(history, rng, DIP_WEEK, attempts, 0.4 if org is failing else (0.5 if org is small else 0.05))
        gen.store(conn, history)
    with conn.transaction():
        judged = _by_org(business.payment_failures(conn, NOW))
    assert judged[failing.id].status == "fail", judged[failing.id].message
    assert judged[fine.id].status == "pass", judged[fine.id].message
    assert judged[small.id].status == "pass", judged[small.id].message  # 2 of 4: too few failures to mean much
    for back in range(1, 26):
        with conn.transaction():
            week = _by_org(business.payment_failures(conn, NOW - timedelta(weeks=back)))
        assert {week[o.id].status for o in (failing, fine, small)} == {"pass"}, back
