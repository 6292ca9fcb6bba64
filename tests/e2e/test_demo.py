"""The demo end to end: a generated span sent through the real ingest and webhook endpoints of a running pipeline
shows exactly the numbers computed independently from the generated stream, and a second run changes nothing."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from shared.core import queries, settings
from shared.metrics import rollups
from shared.tools import runner
from shared.tools.demo import run, story, year

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # ~36 s on the busy 2-core machine: the demo, twice

# A fixed past span (so the stream is the same whenever the test runs) whose story includes a cancellation with a
# refund, a charge refunded twice (the second charge.refunded lists the first refund again), a bank-transfer
# refund, Stripe redeliveries and payments in two currencies; the asserts below check that it does.
SEED, MONTHS, END_DAY = 10, 2, date(2026, 10, 1)


@dataclass
class Expected:
    counts: Counter[str] = field(default_factory=Counter)
    gross: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refunds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    payments: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed: int = 0
    emails_sent: int = 0


def expected_from_stream(y: year.Year) -> Expected:
    """The pipeline's counting rules, applied to the generated stream by hand: a Stripe payment is its
    PaymentIntent (checkout.session.completed and payment_intent.succeeded report it once), a refund is its refund
    id (each charge.refunded lists all refunds so far), each failed attempt counts, a redelivery counts once."""
    out = Expected(counts=Counter(e["type"] for e in y.events))
    for e in y.events:
        d = e["data"]
        if e["type"] == "payment.succeeded":
            out.gross[d["currency"]] += d["amount_minor"]
            out.payments[d["currency"]] += 1
        elif e["type"] == "payment.refunded":
            out.refunds[d["currency"]] += d["amount_minor"]
    paid: dict[str, tuple[str, int]] = {}
    refunded: dict[str, tuple[str, int]] = {}
    failed: set[str] = set()
    resend_sent: set[str] = set()
    for delivery in y.deliveries:
        doc = delivery.document
        if delivery.provider == "resend":
            if doc["type"] == "email.sent":
                resend_sent.add(delivery.delivery_id)
            continue
        obj = doc["data"]["object"]
        if doc["type"] == "payment_intent.succeeded":
            paid.setdefault(obj["id"], (obj["currency"].upper(), obj["amount_received"]))
        elif doc["type"] == "checkout.session.completed" and obj["payment_status"] == "paid":
            paid.setdefault(obj["payment_intent"], (obj["currency"].upper(), obj["amount_total"]))
        elif doc["type"] == "payment_intent.payment_failed":
            failed.add(doc["id"])
        elif doc["type"] == "charge.refunded":
            for r in obj["refunds"]["data"]:
                refunded[r["id"]] = (r["currency"].upper(), r["amount"])
    for currency, amount in paid.values():
        out.gross[currency] += amount
        out.payments[currency] += 1
    for currency, amount in refunded.values():
        out.refunds[currency] += amount
    out.failed = out.counts["payment.failed"] + len(failed)
    out.emails_sent = out.counts["email.sent"] + len(resend_sent)
    return out


def _stored(conn: psycopg.Connection[Any], org_id: Any) -> int:
    row = conn.execute(queries.get("demo_stored_event_count"), {"organization_id": org_id}).fetchone()
    assert row is not None
    return int(row[0])


def test_demo_numbers_equal_the_generated_stream_and_a_second_run_changes_nothing(
    database_url: str, conn: psycopg.Connection[Any], tmp_path: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("REPORTS_LOCAL_DIR", str(tmp_path))
    settings.clear_cache()
    stream = story.generate(SEED, months=MONTHS, end_day=END_DAY)
    want = expected_from_stream(stream)
    stripe = [d.document for d in stream.deliveries if d.provider == "stripe"]
    # the counting rules are really exercised by this stream
    assert {d["type"] for d in stripe} >= {
        "checkout.session.completed",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
    }
    assert any(len(d["data"]["object"]["refunds"]["data"]) > 1 for d in stripe if d["type"] == "charge.refunded")
    assert len({d.delivery_id for d in stream.deliveries}) < len(stream.deliveries)  # redeliveries
    assert want.counts["booking.cancelled"] and want.counts["payment.refunded"] and set(want.gross) == {"EUR", "GBP"}

    lines: list[str] = []
    pipeline = runner.start(database_url, poll_seconds=1.0, extra_env={"REFRESH_DEBOUNCE_SECONDS": "1"})
    try:
        first = run.run(
            pipeline.url("ingest"),
            seed=SEED,
            months=MONTHS,
            end_day=END_DAY,
            out=lines.append,
            progress=False,
            views_timeout=30,
        )
        stored = _stored(conn, first.organization.id)
        second = run.run(
            pipeline.url("ingest"),
            seed=SEED,
            months=MONTHS,
            end_day=END_DAY,
            out=lines.append,
            progress=False,
            views_timeout=30,
        )
    finally:
        pipeline.stop()

    assert first.year.events == stream.events and first.year.deliveries == stream.deliveries
    assert first.counted and first.views_fresh
    assert (first.sent.accepted, first.sent.duplicates, first.sent.rejected) == (len(stream.events), 0, [])
    assert first.sent.deliveries == len(stream.deliveries)
    org = first.organization.id
    dead = conn.execute(queries.get("demo_dead_letter_count"), {"organization_id": org}).fetchone()
    assert dead == (0,)

    totals = rollups.totals(conn, org, stream.start, stream.end).metrics
    assert totals["inquiries"][0].value == want.counts["inquiry.received"]
    # each booking once; a cancellation counts for a booking the stream confirmed (one confirmed before the
    # stream's first day is not a booking of this data)
    confirmed = {e["data"]["booking_id"] for e in stream.events if e["type"] == "booking.confirmed"}
    cancelled = {e["data"]["booking_id"] for e in stream.events if e["type"] == "booking.cancelled"}
    assert totals["bookings"][0].value == len(confirmed)
    assert totals["cancellations"][0].value == len(cancelled & confirmed)
    assert totals["payments_failed"][0].value == want.failed
    assert totals["emails_sent"][0].value == want.emails_sent
    assert totals["reviews_rated"][0].value == want.counts["review.received"]
    revenue = {r.currency: r for r in rollups.revenue(conn, org, stream.start, stream.end)}
    assert {c: r.gross_minor for c, r in revenue.items()} == dict(want.gross)
    assert {c: r.refunds_minor for c, r in revenue.items()} == {c: want.refunds.get(c, 0) for c in want.gross}
    assert {c: r.net_minor for c, r in revenue.items()} == {
        c: want.gross[c] - want.refunds.get(c, 0) for c in want.gross
    }
    assert {c: r.payments for c, r in revenue.items()} == dict(want.payments)
    tz = ZoneInfo(stream.business.timezone)
    by_month = Counter(
        datetime.fromisoformat(e["occurred_at"]).astimezone(tz).strftime("%Y-%m")
        for e in stream.events
        if e["type"] == "inquiry.received"
    )
    series = rollups.timeseries(conn, org, "inquiries", "month", stream.start, stream.end).series[0].points
    assert {p.start.strftime("%Y-%m"): p.value for p in series} == dict(by_month)
    assert first.headline is not None and first.headline.inquiries == want.counts["inquiry.received"]
    assert first.headline.conversion_rate is not None and first.headline.conversion_rate > 0

    # the second run: same organization and sources, everything a duplicate, no number moves
    assert second.organization == first.organization
    assert (second.sent.accepted, second.sent.duplicates) == (0, len(stream.events))
    assert _stored(conn, org) == stored
    assert second.headline == first.headline
    assert any(line.startswith("  revenue GBP     gross ") for line in lines)
    # the season pipeline by wedding date, as the monthly report states it
    assert first.headline.season_pipeline and all(f"  {x}" in lines for x in first.headline.season_pipeline)
    assert any(" season: " in x and "outstanding; balances due in the next 30 days: " in x for x in lines)
