"""The demo year: the same seed gives the same year, the year is seasonal, and every event fits the catalog."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import stripe

from shared.catalog import events
from shared.tools.demo import delivery, story, year


def test_the_same_seed_and_end_day_give_the_same_events_ids_and_payloads() -> None:
    a = story.generate(11, months=3, end_day=date(2026, 5, 1))
    b = story.generate(11, months=3, end_day=date(2026, 5, 1))
    other = story.generate(12, months=3, end_day=date(2026, 5, 1))
    assert a.events and a.deliveries
    assert a.events == b.events and a.deliveries == b.deliveries
    assert [e["event_id"] for e in a.events] != [e["event_id"] for e in other.events]


def test_event_and_delivery_ids_are_unique_except_stripe_redeliveries() -> None:
    y = story.generate(3, months=12, end_day=date(2026, 1, 1))
    ids = [e["event_id"] for e in y.events]
    assert len(ids) == len(set(ids))
    by_id: dict[str, list[year.Delivery]] = {}
    for d in y.deliveries:
        by_id.setdefault(d.delivery_id, []).append(d)
    repeated = [ds for ds in by_id.values() if len(ds) > 1]
    assert repeated, "the year should contain Stripe redeliveries"
    assert all(ds[0].provider == "stripe" and ds[0].document == ds[1].document for ds in repeated)


def test_a_full_year_has_more_inquiries_in_engagement_season_and_weddings_in_summer() -> None:
    y = story.generate(5, months=12, end_day=date(2026, 1, 1))  # calendar 2025
    tz = ZoneInfo(y.business.timezone)
    months = Counter(
        datetime.fromisoformat(e["occurred_at"]).astimezone(tz).month
        for e in y.events
        if e["type"] == "inquiry.received"
    )
    assert sum(months.values()) > 200
    assert months[1] + months[2] + months[3] > 1.5 * (months[10] + months[11] + months[12])
    weddings = Counter(
        date.fromisoformat(e["data"]["wedding_date"]).month for e in y.events if e["type"] == "booking.confirmed"
    )
    summer = sum(weddings[m] for m in (5, 6, 7, 8, 9))
    assert summer > 2 * (sum(weddings.values()) - summer)


def test_every_event_is_inside_the_window_and_accepted_by_the_catalog() -> None:
    y = story.generate(9, months=2, end_day=date(2026, 4, 1))
    assert y.start == datetime(2026, 2, 1, tzinfo=UTC) and y.end == datetime(2026, 3, 31, 23, tzinfo=UTC)
    checked = events.check_batch(y.events, now=y.end)
    assert checked.rejected == []
    times = [datetime.fromisoformat(e["occurred_at"]) for e in y.events] + [d.occurred_at for d in y.deliveries]
    assert all(y.start <= t < y.end for t in times)
    assert {d.provider for d in y.deliveries} == {"stripe", "resend"}


def test_first_day_is_the_same_day_months_earlier_clamped_to_the_month() -> None:
    assert year.first_day_of(date(2026, 11, 25), 12) == date(2025, 11, 25)
    assert year.first_day_of(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert year.first_day_of(date(2026, 1, 15), 2) == date(2025, 11, 15)


def test_progress_prints_a_line_per_tenth_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = delivery.Progress(1000, stream=stream)
    for _ in range(40):
        progress.add(25)
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11 and lines[0].startswith("sending [") and " 100% 1,000/1,000 events" in lines[-1]


def test_stripe_signature_is_accepted_by_the_stripe_library() -> None:
    body, secret, now = b'{"id": "evt_1"}', "whsec_demo", 1_790_000_000
    header = delivery.stripe_signature(body, secret, now)
    stripe.WebhookSignature.verify_header(body.decode(), header, secret, tolerance=None)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body.decode(), header, "whsec_other", tolerance=None)
