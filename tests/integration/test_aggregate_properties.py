"""Property: for any stream of events (duplicates, late and out-of-order arrivals, refunds, cancellations,
several currencies, zones with :30 and :45 offsets and DST), sent in any batches with the pipeline draining
in between, the rollups, the views and the metric layer equal an independent recomputation from the events.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.aggregate import aggregation, recovery
from shared.core import db
from shared.metrics import rollups, timeframes, weddings
from shared.refresh import views as refresh
from shared.validate import validation
from tests import rollup_model as model
from tests import wedding_model

ZONES = [
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Australia/Eucla",
    "America/St_Johns",
    "Europe/London",
]
CURRENCIES = ["GBP", "EUR", "JPY", "NPR"]
CLIENTS = ["c-ava", "c-ben", "c-cat", "c-dan"]
SOURCES = ["instagram", "google", "referral"]
# Late arrivals: events up to ~400 days old, across DST changes of every zone above.
NOW = datetime.now(UTC).replace(microsecond=0)


@st.composite
def event_specs(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "inquiry.received",
                "booking.confirmed",
                "booking.cancelled",
                "payment.succeeded",
                "payment.refunded",
                "email.sent",
                "email.opened",
                "notification.delivered",
                "review.received",
                "journey.completed",
                "app.action",
                "form.started",
                "form.submitted",
                "client.created",
            ]
        )
    )
    minutes = draw(st.one_of(st.integers(0, 600), st.integers(0, 400 * 24 * 60)))
    client = draw(st.sampled_from(CLIENTS))
    currency = draw(st.one_of(st.none(), st.sampled_from(CURRENCIES)))
    data: dict[str, Any]
    if kind == "inquiry.received":
        data = {"lead_source": draw(st.sampled_from(SOURCES))}
        if draw(st.booleans()):
            data["channel"] = draw(st.sampled_from(["email", "phone", "social"]))
    elif kind == "booking.confirmed":
        data = {
            "booking_id": "",
            "package": draw(st.sampled_from(["full_day", "elopement"])),
            "value_minor": draw(st.integers(0, 900_000)),
            "wedding_date": (NOW.date() + timedelta(days=draw(st.integers(-30, 700)))).isoformat(),
        }
        if draw(st.booleans()):
            data["lead_source"] = draw(st.sampled_from(SOURCES))
    elif kind == "booking.cancelled":
        data = {"booking_id": f"b-{draw(st.integers(0, 5))}"}
    elif kind == "payment.succeeded":
        data = {
            "payment_id": f"p-{draw(st.integers(0, 99))}",
            "amount_minor": draw(st.integers(1, 500_000)),
            "booking_id": f"b-{draw(st.integers(0, 5))}",
        }
        if draw(st.booleans()):
            data["kind"] = draw(st.sampled_from(["deposit", "instalment", "balance"]))
    elif kind == "payment.refunded":
        data = {"payment_id": "p-1", "amount_minor": draw(st.integers(1, 200_000))}
    elif kind in ("email.sent", "email.opened"):
        data = {"message_id": "m-1", "template": draw(st.sampled_from(["welcome", "invoice"]))}
    elif kind == "notification.delivered":
        data = {"notification_id": "n-1", "channel": draw(st.sampled_from(["sms", "push"]))}
    elif kind == "review.received":
        data = {"review_id": "r-1", "platform": "google"}
        score = draw(st.sampled_from(["rating", "nps", "both"]))
        if score in ("rating", "both"):
            data["rating"] = draw(st.integers(1, 5))
        if score in ("nps", "both"):
            data["nps"] = draw(st.integers(0, 10))
    elif kind == "journey.completed":
        data = {"journey_id": "j-1", "run_id": "run-1"}
        if draw(st.booleans()):
            data["duration_ms"] = draw(st.one_of(st.integers(0, 10**9), st.sampled_from([10**15, 10**19])))
    elif kind == "app.action":
        data = {"user_id": draw(st.sampled_from(["u-1", "u-2"])), "action": "export"}
    elif kind in ("form.started", "form.submitted"):
        data = {"form_id": draw(st.sampled_from(["f-1", "f-2"]))}
    else:
        data = {"lead_source": draw(st.sampled_from(SOURCES))}
    if kind in model.MONEY_TYPES and currency is not None:
        data["currency"] = currency
    return {"type": kind, "minutes": minutes, "client": client, "data": data}


def _events(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        data = dict(spec["data"])
        if spec["type"] == "booking.confirmed":
            data["booking_id"] = (
                f"b-{i % 6}"
                if f"b-{i % 6}" not in {e["data"].get("booking_id") for e in events if e["type"] == "booking.confirmed"}
                else f"b-x{i}"
            )
        # Distinct instants (a second apart per index) keep "first" and "latest" well defined.
        at = NOW - timedelta(minutes=spec["minutes"], seconds=i)
        event = {"event_id": f"e-{i}", "type": spec["type"], "occurred_at": at.isoformat(), "data": data}
        if spec["type"] not in ("booking.cancelled", "app.action") or i % 2:
            event["client_id"] = spec["client"]
        events.append(event)
    return events


def _post(app: Any, key: str, events: list[dict[str, Any]]) -> None:
    answer = app.post(
        "/v1/events",
        data=json.dumps({"events": events}),
        headers={"Authorization": f"Bearer {key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.json
    assert answer.json["rejected"] == [], answer.json


def _drain_all() -> None:
    assert not validation.drain(db.transaction)[1]
    assert not aggregation.drain(db.transaction)[1]


def _check_rollups(
    conn: psycopg.Connection[Any], org_id: Any, kept: list[dict[str, Any]], tz: ZoneInfo, currency: str
) -> None:
    rows = conn.execute(
        "select metric, bucket, dim1, dim2, currency, events, amount_minor, value_sum, value_count "
        "from analytics_rollups where organization_id = %s",
        (org_id,),
    ).fetchall()
    actual = {(r[0], r[1].astimezone(UTC).isoformat(), r[2], r[3], r[4]): list(r[5:]) for r in rows}
    assert actual == model.rollups(kept, tz, currency)
    clients = {
        (r[0].astimezone(UTC).isoformat(), r[1])
        for r in conn.execute(
            "select bucket, client_id from analytics_active_clients where organization_id = %s", (org_id,)
        )
    }
    assert clients == model.active_clients(kept)
    rows = conn.execute(
        "select metric, day, dim1, dim2, currency, events, amount_minor, value_sum, value_count "
        "from analytics_rollups_daily where organization_id = %s",
        (org_id,),
    ).fetchall()
    assert {(r[0], r[1].isoformat(), r[2], r[3], r[4]): list(r[5:]) for r in rows} == model.daily(
        model.rollups(kept, tz, currency), tz
    )
    firsts = {
        (r[0], date.min if r[1] == date.min or str(r[1]) == "-infinity" else r[1]): r[2]
        for r in conn.execute(
            "select day, case when prev_day = '-infinity' then date '0001-01-01' else prev_day end, clients "
            "from analytics_client_day_firsts where organization_id = %s",
            (org_id,),
        )
    }
    assert firsts == model.client_day_firsts(kept, tz)


def _check_views(
    conn: psycopg.Connection[Any], org_id: Any, kept: list[dict[str, Any]], tz: ZoneInfo, currency: str
) -> None:
    booked = model.bookings(kept, currency)
    rows = conn.execute(
        "select booking_id, client_id, booked_at, value_minor, currency, wedding_date, cancelled_at, "
        "deposit_paid_at, balance_paid_at from analytics_booking_facts_mv "
        "where organization_id = %s",
        (org_id,),
    ).fetchall()
    assert {r[0]: model.Booking(*r[1:]) for r in rows} == booked
    funnel = model.funnel(kept, booked)
    rows = conn.execute(
        "select client_id, first_inquiry_at, first_booked_at, first_deposit_at, first_balance_at "
        "from analytics_client_funnel_mv where organization_id = %s",
        (org_id,),
    ).fetchall()
    assert {r[0]: tuple(r[1:]) for r in rows} == funnel
    rows = conn.execute(
        "select cohort_month, inquiries, booked, deposit_paid, balance_paid from analytics_cohorts_mv "
        "where organization_id = %s",
        (org_id,),
    ).fetchall()
    assert {r[0]: tuple(r[1:]) for r in rows} == model.cohorts(funnel, tz)
    rows = conn.execute(
        "select measure, month, days, n from analytics_lead_times_mv where organization_id = %s", (org_id,)
    ).fetchall()
    assert Counter({(r[0], r[1], r[2]): r[3] for r in rows}) == model.lead_times(funnel, booked, tz)


def _check_metrics(
    conn: psycopg.Connection[Any], org_id: Any, kept: list[dict[str, Any]], tz: ZoneInfo, currency: str
) -> None:
    start, end = NOW - timedelta(days=401), NOW + timedelta(minutes=1)
    inquiries = [model.when(e).astimezone(tz) for e in kept if e["type"] == "inquiry.received"]
    revenue: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in kept:
        if e["type"] in ("payment.succeeded", "payment.refunded"):
            revenue[e["data"].get("currency", currency)][e["type"] == "payment.refunded"] += e["data"]["amount_minor"]

    def local_hour(t: datetime) -> datetime:
        return t.replace(minute=0, second=0, microsecond=0)

    for interval, window, key in (
        ("month", start, lambda t: t.date().replace(day=1)),
        ("day", start, lambda t: t.date()),
        ("hour", model.bucket(NOW - timedelta(hours=11)), local_hour),
    ):
        series = rollups.timeseries(conn, org_id, "inquiries", interval, window, end).series[0].points  # type: ignore[arg-type]
        starts = [p.start for p in series]
        assert all(p.start.utcoffset() == p.start.astimezone(tz).utcoffset() for p in series)
        assert starts == sorted(set(starts)) and starts[0] <= window  # every period once, in order
        expected = Counter(key(t) for t in inquiries if t >= (window if interval == "hour" else start))
        got = {(p.start if interval == "hour" else p.start.date()): p.value for p in series if p.value}
        assert got == dict(expected)
    got_revenue = {r.currency: [r.gross_minor, r.refunds_minor] for r in rollups.revenue(conn, org_id, start, end)}
    assert got_revenue == dict(revenue)
    _check_active_clients(conn, org_id, kept, tz)
    net = rollups.totals(conn, org_id, start, end).metrics["revenue_net"]
    expected_net = {c: g - r for c, (g, r) in revenue.items()} or {currency: 0}
    assert {v.currency: v.value for v in net} == expected_net
    _check_each_once(conn, org_id, kept, currency)


def _check_each_once(conn: psycopg.Connection[Any], org_id: Any, kept: list[dict[str, Any]], currency: str) -> None:
    """Each booking and each client once (bookings, cancellations, new_clients), over a long and a partial
    window, and the wedding-date axis, against tests/wedding_model.py."""
    for start, end in (
        (NOW - timedelta(days=401), NOW + timedelta(minutes=1)),
        (NOW - timedelta(days=200, minutes=7), NOW - timedelta(hours=5, minutes=50)),
    ):
        totals = rollups.totals(conn, org_id, start, end).metrics
        want = wedding_model.counted(kept, currency, start, end)
        for name in ("new_clients", "bookings", "cancellations", "net_bookings"):
            assert totals[name][0].value == want[name], (name, start, end)
        assert {v.currency: v.value for v in totals["booking_value"] if v.value} == {
            c: v for c, v in want["booking_value"].items() if v
        }
    first, last = NOW.date() - timedelta(days=31), NOW.date() + timedelta(days=701)
    answer = weddings.answer(conn, org_id, "month", first, last, now=NOW)
    got = {
        (p.period, p.currency): [p.weddings, p.booked_minor, p.paid_minor, p.outstanding_minor, p.cancelled]
        for p in answer.periods
    }
    assert got == wedding_model.by_wedding_month(wedding_model.bookings(kept, currency), first, last)


def _check_active_clients(conn: psycopg.Connection[Any], org_id: Any, kept: list[dict[str, Any]], tz: ZoneInfo) -> None:
    """Distinct active clients over whole local days (the daily tier), over windows with partial days (both
    tiers) and per ISO week and month, each against a count from the events."""
    days = sorted({model.when(e).astimezone(tz).date() for e in kept}) or [NOW.astimezone(tz).date()]
    first, last = days[0], days[-1]
    windows = [
        timeframes.local_window(tz.key, first, last),
        timeframes.local_window(tz.key, days[len(days) // 2], last),
    ]
    windows += [(s + timedelta(minutes=7), e - timedelta(minutes=50)) for s, e in windows]
    windows.append((NOW - timedelta(hours=30), NOW + timedelta(minutes=1)))
    for start, end in windows:
        if end <= start:
            continue
        got = rollups.totals(conn, org_id, start, end).metrics["active_clients"][0].value
        assert got == model.active_in(kept, start, end), (start, end)
    start, end = timeframes.local_window(tz.key, first - timedelta(days=40), last)
    for interval in ("week", "month"):
        series = rollups.timeseries(conn, org_id, "active_clients", interval, start, end).series[0].points
        for point, following in zip(series, [*series[1:], None], strict=True):
            p_start = max(point.start.astimezone(UTC), start)
            p_end = following.start.astimezone(UTC) if following else end
            assert point.value == model.active_in(kept, p_start, p_end), (interval, point)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(event_specs(), min_size=1, max_size=30),
    zone=st.sampled_from(ZONES),
    currency=st.sampled_from(CURRENCIES),
    data=st.data(),
)
def test_rollups_and_views_equal_a_recomputation_from_the_raw_events(
    specs: list[dict[str, Any]],
    zone: str,
    currency: str,
    data: st.DataObject,
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org(timezone=zone, currency=currency)
    events = _events(specs)
    # Duplicates (resent copies) and arrival in any order, in batches, with the pipeline draining in between.
    resent = data.draw(st.lists(st.sampled_from(events), max_size=5))
    arrivals = data.draw(st.permutations(events + resent))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(arrivals) - 1)), max_size=3)))
    drain_after = data.draw(st.lists(st.booleans(), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    for part, (lo, hi) in enumerate(zip([0, *cuts], [*cuts, len(arrivals)], strict=True)):
        if arrivals[lo:hi]:
            _post(ingest_app, org.ingest_key, arrivals[lo:hi])
        if drain_after[part]:
            _drain_all()
    _drain_all()
    refresh.run(db.transaction, force=True)

    kept = model.stored(events)
    tz = ZoneInfo(zone)
    _check_rollups(conn, org.id, kept, tz, currency)
    _check_views(conn, org.id, kept, tz, currency)
    _check_metrics(conn, org.id, kept, tz, currency)
    with db.transaction() as c:
        assert recovery.reconcile(c, org.id, NOW - timedelta(days=402), NOW + timedelta(hours=1)) == []
