"""The dashboard's numbers over the functions-framework test client, against events posted through ingest and
drained through validate and aggregate: overview, series across local midnights, breakdowns, revenue, funnel,
quality, the registry and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from functions.dashboard import main as dashboard_main
from shared.dashboard import openapi
from shared.metrics import registry
from tests import factories
from tests.integration.dashboard import support
from tests.integration.dashboard.support import ROOT


def test_overview_counts_the_posted_events_and_compares_with_the_previous_period_of_equal_length(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org(timezone="Europe/London", currency="GBP")
    now_days = [f"2026-10-{d:02d}" for d in (1, 5, 10)]  # the period: 2026-10-01 .. 2026-10-10 (10 days)
    before_days = ["2026-09-21", "2026-09-30"]  # the previous 10 days: 2026-09-21 .. 2026-09-30
    batch = [
        factories.make_event(
            "inquiry.received", occurred_at=support.at(d, "12:00", "Europe/London"), client_id=f"c-{i}"
        )
        for i, d in enumerate(now_days * 2)
    ]
    batch += [
        factories.make_event("inquiry.received", occurred_at=support.at(d, "12:00", "Europe/London"))
        for d in before_days
    ]
    amounts = [12_000, 30_500, 7_25]
    batch += [
        factories.make_event(
            "payment.succeeded",
            payment_id=f"p{i}",
            amount_minor=a,
            currency="GBP",
            occurred_at=support.at("2026-10-03", "09:00", "Europe/London"),
        )
        for i, a in enumerate(amounts)
    ]
    batch += [
        factories.make_event(
            "payment.succeeded",
            payment_id="pe",
            amount_minor=9_999,
            currency="EUR",
            occurred_at=support.at("2026-10-04", "09:00", "Europe/London"),
        )
    ]
    batch += [factories.make_event("inquiry.received", occurred_at=support.at("2026-10-11", "00:30", "Europe/London"))]
    support.post(ingest_app, org.ingest_key, batch)
    support.drain()
    answer = support.get(
        dashboard_app, "/v1/metrics/overview", org.read_key, **{"from": "2026-10-01", "to": "2026-10-10"}
    )
    assert answer.status_code == 200, answer.json
    body = answer.json
    inquiries = support.value(body, "inquiries")
    assert (inquiries["value"], inquiries["previous"], inquiries["change"]) == (6, 2, 4)
    assert inquiries["change_ratio"] == pytest.approx(2.0)
    assert support.value(body, "revenue_gross", "GBP")["value"] == sum(amounts)
    assert support.value(body, "revenue_gross", "EUR")["value"] == 9_999
    assert support.value(body, "payments")["value"] == len(amounts) + 1
    assert support.value(body, "active_clients")["value"] == 7  # c-0..c-5 and the payments' client-1
    assert body["previous_end"] == body["start"]
    assert datetime.fromisoformat(body["start"]) == datetime(2026, 9, 30, 23, 0, tzinfo=UTC)  # BST midnight


@pytest.mark.parametrize(
    ("tz", "day", "before", "after"),
    [
        ("Asia/Kathmandu", "2026-10-15", "23:59", "00:00"),  # +05:45
        ("America/St_Johns", "2026-10-15", "23:59", "00:00"),  # -02:30 (DST)
        ("America/St_Johns", "2026-12-15", "23:45", "00:14"),  # -03:30
    ],
)
def test_timeseries_puts_events_just_before_and_after_local_midnight_on_their_local_days(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
    tz: str,
    day: str,
    before: str,
    after: str,
) -> None:
    if date.fromisoformat(day) > datetime.now(UTC).date() - timedelta(days=2):
        day = (datetime.now(UTC).date() - timedelta(days=5)).isoformat()
    org = make_org(timezone=tz)
    next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    support.post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event("inquiry.received", occurred_at=support.at(day, before, tz)),
            factories.make_event("inquiry.received", occurred_at=support.at(next_day, after, tz)),
            factories.make_event("inquiry.received", occurred_at=support.at(next_day, "12:00", tz)),
        ],
    )
    support.drain()
    first = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    last = (date.fromisoformat(day) + timedelta(days=2)).isoformat()
    answer = support.get(
        dashboard_app,
        "/v1/metrics/timeseries",
        org.read_key,
        metric="inquiries",
        interval="day",
        **{"from": first, "to": last},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["timezone"] == tz
    points = answer.json["series"][0]["points"]
    assert [p["value"] for p in points] == [0, 1, 2, 0]  # empty days filled with 0
    starts = [datetime.fromisoformat(p["start"]) for p in points]
    assert [s.date().isoformat() for s in starts] == [first, day, next_day, last]
    assert all((s.hour, s.minute) == (0, 0) and s.utcoffset() == s.astimezone(ZoneInfo(tz)).utcoffset() for s in starts)


def test_hourly_series_over_one_local_day_has_24_points_summing_to_the_day(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org(timezone="Asia/Kathmandu")
    hours = ["00:10", "00:50", "13:44", "23:59"]
    support.post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event("form.started", occurred_at=support.at("2026-10-20", h, "Asia/Kathmandu"))
            for h in hours
        ],
    )
    support.drain()
    answer = support.get(
        dashboard_app,
        "/v1/metrics/timeseries",
        org.read_key,
        metric="form_starts",
        interval="hour",
        **{"from": "2026-10-20", "to": "2026-10-20"},
    )
    points = answer.json["series"][0]["points"]
    assert len(points) == 24
    by_hour = {datetime.fromisoformat(p["start"]).hour: p["value"] for p in points}
    assert by_hour[0] == 2 and by_hour[13] == 1 and by_hour[23] == 1 and sum(by_hour.values()) == 4


def test_breakdown_splits_a_metric_by_a_dimension_the_registry_allows(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    sources = ["instagram"] * 3 + ["google"] * 2 + ["referral"]
    support.post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event(
                "inquiry.received", lead_source=s, occurred_at=support.at("2026-10-02", "10:00", "Europe/London")
            )
            for s in sources
        ],
    )
    support.drain()
    answer = support.get(
        dashboard_app,
        "/v1/metrics/breakdown",
        org.read_key,
        metric="inquiries",
        by="lead_source",
        **{"from": "2026-10-01", "to": "2026-10-31"},
    )
    assert answer.status_code == 200, answer.json
    assert [(r["key"], r["value"]) for r in answer.json["rows"]] == [("instagram", 3), ("google", 2), ("referral", 1)]


def test_revenue_is_per_currency_with_refunds_and_kinds(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    when = support.at("2026-10-05", "10:00", "Europe/London")
    support.post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event(
                "payment.succeeded", payment_id="a", amount_minor=50_000, kind="deposit", occurred_at=when
            ),
            factories.make_event(
                "payment.succeeded", payment_id="b", amount_minor=150_000, kind="balance", occurred_at=when
            ),
            factories.make_event("payment.refunded", payment_id="a", amount_minor=10_000, occurred_at=when),
            factories.make_event(
                "payment.succeeded", payment_id="c", amount_minor=7_000, currency="USD", occurred_at=when
            ),
        ],
    )
    support.drain()
    answer = support.get(dashboard_app, "/v1/revenue", org.read_key, **{"from": "2026-10-01", "to": "2026-10-31"})
    assert answer.status_code == 200, answer.json
    by_currency = {c["currency"]: c for c in answer.json["currencies"]}
    assert set(by_currency) == {"GBP", "USD"}
    gbp = by_currency["GBP"]
    assert (gbp["gross_minor"], gbp["refunds_minor"], gbp["net_minor"], gbp["payments"]) == (
        200_000,
        10_000,
        190_000,
        2,
    )
    assert gbp["by_kind_minor"] == {"balance": 150_000, "deposit": 50_000}
    assert by_currency["USD"]["net_minor"] == 7_000


def test_funnel_follows_clients_from_first_inquiry_to_booking_and_payments(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    day = "2026-10-07"
    batch = [
        factories.make_event(
            "inquiry.received", client_id=f"c{i}", occurred_at=support.at(day, "09:00", "Europe/London")
        )
        for i in range(5)
    ]
    batch += [
        factories.make_event(
            "booking.confirmed",
            client_id=f"c{i}",
            booking_id=f"b{i}",
            occurred_at=support.at("2026-10-09", "09:00", "Europe/London"),
        )
        for i in range(2)
    ]
    batch += [
        factories.make_event(
            "payment.succeeded",
            client_id="c0",
            booking_id="b0",
            payment_id="p0",
            kind="deposit",
            occurred_at=support.at("2026-10-10", "09:00", "Europe/London"),
        )
    ]
    batch += [
        factories.make_event(
            "booking.cancelled",
            client_id="c1",
            booking_id="b1",
            occurred_at=support.at("2026-10-11", "09:00", "Europe/London"),
        )
    ]
    support.post(ingest_app, org.ingest_key, batch)
    support.drain(views=True)
    answer = support.get(dashboard_app, "/v1/funnel", org.read_key, **{"from": "2026-10-01", "to": "2026-10-31"})
    assert answer.status_code == 200, answer.json
    stages = {s["stage"]: s["clients"] for s in answer.json["funnel"]["stages"]}
    assert stages == {"inquiry": 5, "booking": 2, "deposit_paid": 1, "balance_paid": 0}
    assert answer.json["funnel"]["conversion_rate"] == pytest.approx(0.4)
    assert answer.json["funnel"]["median_days_to_book"] == pytest.approx(2.0)
    [gbp] = answer.json["bookings"]
    assert (gbp["bookings"], gbp["cancelled"], gbp["net_bookings"]) == (2, 1, 1)


def test_quality_reports_intake_per_source_rejections_dead_letters_queues_and_freshness(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    good = [factories.make_event("inquiry.received") for _ in range(3)]
    bad = [factories.make_event("payment.succeeded", payment_id=f"x{i}", amount_minor=-5) for i in range(2)]
    support.post(ingest_app, org.ingest_key, good + bad + [good[0]])  # one duplicate
    support.drain()
    answer = support.get(dashboard_app, "/v1/quality", org.read_key)
    assert answer.status_code == 200, answer.json
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json
    [api] = body["totals"]
    assert (api["stored"], api["rejected"], api["duplicates"]) == (3, 2, 1)
    assert sum(p["stored"] for p in body["sources"]) == 3
    assert body["rejection_reasons"] and body["rejection_reasons"][0]["payloads"] == 2
    assert "amount_minor" in body["rejection_reasons"][0]["field"]
    assert body["dead_letters_waiting"] == 2
    assert {q["queue"] for q in body["queues"]} == {"ingest", "aggregate", "refresh"}
    assert all(q["length"] >= 0 for q in body["queues"])
    assert body["freshness"]["newest_event_at"] is not None and body["freshness"]["age_seconds"] is not None
    assert body["checks"] == []


def test_metrics_lists_the_registry(dashboard_app: Any, make_org: Callable[..., Any]) -> None:
    org = make_org()
    answer = support.get(dashboard_app, "/v1/metrics", org.read_key)
    assert [m["name"] for m in answer.json["metrics"]] == sorted(registry.REGISTRY)
    nps = next(m for m in answer.json["metrics"] if m["name"] == "nps")
    assert nps["dimensions"] == ["platform"] and nps["unit"] == "score"
    assert answer.json["intervals"]["hour"] == 31


def test_openapi_is_served_and_the_committed_copy_is_current(dashboard_app: Any) -> None:
    served = dashboard_app.get("/v1/openapi.json")
    assert served.status_code == 200 and served.json["openapi"] == "3.1.0"
    assert {
        "/v1/metrics/overview",
        "/v1/metrics/timeseries",
        "/v1/metrics/breakdown",
        "/v1/funnel",
        "/v1/revenue",
        "/v1/quality",
        "/v1/events/live",
        "/v1/metrics",
    } <= set(served.json["paths"])
    committed = (ROOT / "docs/openapi.json").read_text()
    assert committed == openapi.dumps(dashboard_main.openapi_document()), (
        "docs/openapi.json is stale: run python -m shared.dashboard.openapi > docs/openapi.json"
    )
