"""What the report tests share: a small but complete business around November 2026, loaded through the real
pipeline, and the fixed places reports go to."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from shared.aggregate import aggregation
from shared.core import db
from shared.refresh import views as refresh
from shared.validate import validation
from tests import factories

SENDER = "reports@wedsync.example"
BUCKET = "wedsync-reports-test"
HOOK = "https://hooks.example.com/wedsync/reports"
LONDON_NOW = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)  # Monday morning: the week of 9 Nov has closed everywhere
WEEK = date(2026, 11, 9)


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages)


def load(ingest_app: Any, key: str, batch: list[dict[str, Any]]) -> None:
    """Through the real pipeline: ingest over HTTP, validate, aggregate, refresh the views."""
    for i in range(0, len(batch), 500):
        answer = ingest_app.post(
            "/v1/events",
            data=json.dumps({"events": batch[i : i + 500]}),
            headers={"Authorization": f"Bearer {key}"},
            content_type="application/json",
        )
        assert answer.status_code == 202, answer.json
        assert not answer.json["rejected"], answer.json["rejected"]
    while validation.drain(db.transaction)[1]:
        pass
    while aggregation.drain(db.transaction)[1]:
        pass
    refresh.run(db.transaction, force=True)


def business_events(tz: str, currency: str = "GBP") -> list[dict[str, Any]]:
    """A small but complete picture around November 2026 in zone `tz`: inquiries from two sources, bookings
    (one cancelled), payments in two currencies with a refund, a review, emails; also a year earlier."""
    zone = ZoneInfo(tz)
    out: list[dict[str, Any]] = []

    def at(d: date, hour: int = 12) -> str:
        return datetime(d.year, d.month, d.day, hour, tzinfo=zone).isoformat()

    for offset, day in enumerate(
        [
            date(2026, 11, 9),
            date(2026, 11, 10),
            date(2026, 11, 12),
            date(2025, 11, 11),
            date(2026, 11, 3),
            date(2026, 10, 20),
        ]
    ):
        c = f"client-{offset}"
        source = "instagram" if offset % 2 == 0 else "google"
        out.append(
            factories.make_event(
                "inquiry.received",
                occurred_at=at(day),
                client_id=c,
                lead_source=source,
                currency=currency,
                budget_minor=500000,
            )
        )
        if offset in (0, 1, 3, 4):
            out.append(
                factories.make_event(
                    "booking.confirmed",
                    occurred_at=at(day, 15),
                    client_id=c,
                    booking_id=f"b-{offset}",
                    value_minor=300000 + offset * 1000,
                    currency=currency,
                    lead_source=source,
                    wedding_date="2027-06-12",
                )
            )
            out.append(
                factories.make_event(
                    "payment.succeeded",
                    occurred_at=at(day, 16),
                    client_id=c,
                    payment_id=f"p-{offset}",
                    booking_id=f"b-{offset}",
                    amount_minor=75000 + offset,
                    currency=currency,
                    kind="deposit",
                )
            )
    out.append(
        factories.make_event(
            "payment.succeeded",
            occurred_at=at(date(2026, 11, 11)),
            client_id="client-1",
            payment_id="p-usd",
            booking_id="b-1",
            amount_minor=12345,
            currency="USD",
            kind="other",
        )
    )
    out.append(
        factories.make_event(
            "payment.refunded",
            occurred_at=at(date(2026, 11, 13)),
            client_id="client-0",
            payment_id="p-0",
            amount_minor=5000,
            currency=currency,
        )
    )
    out.append(
        factories.make_event(
            "booking.cancelled", occurred_at=at(date(2026, 11, 14)), client_id="client-1", booking_id="b-1"
        )
    )
    out.append(
        factories.make_event(
            "review.received",
            occurred_at=at(date(2026, 11, 11)),
            client_id="client-9",
            review_id="r-1",
            rating=5,
            nps=10,
        )
    )
    for i, d in enumerate([date(2026, 11, 9), date(2026, 11, 10)]):
        out.append(factories.make_event("email.sent", occurred_at=at(d), client_id="client-0", message_id=f"m{i}"))
        out.append(factories.make_event("email.delivered", occurred_at=at(d), client_id="client-0", message_id=f"m{i}"))
    out.append(
        factories.make_event("email.opened", occurred_at=at(date(2026, 11, 10)), client_id="client-0", message_id="m1")
    )
    return out
