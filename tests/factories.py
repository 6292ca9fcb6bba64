"""Valid sample events of every catalog type, with keyword overrides for the data fields."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

_ids = itertools.count(1)

SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "client.created": {"lead_source": "instagram", "email": "ava@example.com", "phone": "+44 7700 900123"},
    "inquiry.received": {
        "lead_source": "instagram",
        "channel": "web_form",
        "wedding_date": "2027-06-12",
        "guest_count": 120,
        "budget_minor": 450000,
        "currency": "GBP",
    },
    "booking.confirmed": {
        "booking_id": "b-1",
        "package": "full_day",
        "value_minor": 320000,
        "currency": "GBP",
        "wedding_date": "2027-06-12",
    },
    "booking.cancelled": {"booking_id": "b-1", "reason": "date moved"},
    "payment.succeeded": {
        "payment_id": "p-1",
        "amount_minor": 80000,
        "currency": "GBP",
        "kind": "deposit",
        "booking_id": "b-1",
    },
    "payment.failed": {"payment_id": "p-2", "amount_minor": 80000, "currency": "GBP", "kind": "balance"},
    "payment.refunded": {"payment_id": "p-1", "amount_minor": 20000, "currency": "GBP"},
    "form.started": {"form_id": "f-contact", "session_id": "s-1"},
    "form.submitted": {
        "form_id": "f-contact",
        "session_id": "s-1",
        "is_inquiry": True,
        "lead_source": "google",
    },
    "email.sent": {"message_id": "m-1", "template": "welcome"},
    "email.delivered": {"message_id": "m-1", "template": "welcome"},
    "email.opened": {"message_id": "m-1", "template": "welcome"},
    "email.clicked": {"message_id": "m-1", "template": "welcome", "url": "https://example.com/brochure"},
    "email.bounced": {"message_id": "m-1", "bounce_type": "hard"},
    "email.complained": {"message_id": "m-1"},
    "email.replied": {"message_id": "m-1"},
    "review.received": {"review_id": "r-1", "rating": 5, "nps": 10, "platform": "google"},
    "journey.started": {"journey_id": "j-onboard", "run_id": "run-1"},
    "journey.step_completed": {"journey_id": "j-onboard", "run_id": "run-1", "step_id": "send-questionnaire"},
    "journey.completed": {"journey_id": "j-onboard", "run_id": "run-1", "duration_ms": 86_400_000},
    "journey.abandoned": {"journey_id": "j-onboard", "run_id": "run-2", "duration_ms": 3_600_000},
    "notification.sent": {"notification_id": "n-1", "channel": "sms", "template": "reminder"},
    "notification.delivered": {"notification_id": "n-1", "channel": "sms"},
    "notification.failed": {"notification_id": "n-2", "channel": "push", "error_code": "unregistered"},
    "notification.opened": {"notification_id": "n-1", "channel": "in_app"},
    "notification.clicked": {"notification_id": "n-1", "channel": "email"},
    "app.action": {"user_id": "u-1", "action": "export_contract", "screen": "bookings"},
}

NEEDS_CLIENT = {"client.created", "inquiry.received", "booking.confirmed"}


def make_event(
    type: str = "inquiry.received",
    *,
    event_id: str | None = None,
    occurred_at: datetime | str | None = None,
    client_id: str | None = "client-1",
    **data: Any,
) -> dict[str, Any]:
    """A valid event of `type`; keyword arguments replace (or, with None, remove) its data fields."""
    fields = {**SAMPLE_DATA[type], **data}
    fields = {k: v for k, v in fields.items() if v is not None}
    when = occurred_at or datetime.now(UTC) - timedelta(hours=1)
    event: dict[str, Any] = {
        "event_id": event_id or f"evt-{next(_ids)}",
        "type": type,
        "occurred_at": when.isoformat() if isinstance(when, datetime) else when,
        "data": fields,
    }
    if client_id is not None:
        event["client_id"] = client_id
    return event


def corrupt_rollups(conn: Any, organization_id: Any, mismatches: int, *, hours_ago: int = 2) -> None:
    """Add `mismatches` rollup rows that no raw event explains, as a bug or a lost update would."""
    for i in range(mismatches):
        conn.execute(
            "insert into analytics_rollups (organization_id, metric, bucket, dim1, events) values "
            "(%s, 'inquiries', analytics_bucket_v1(now() - make_interval(hours => %s)), %s, 1)",
            (organization_id, hours_ago, f"phantom-{i}"),
        )


def repair_rollups(conn: Any, organization_id: Any) -> None:
    conn.execute(
        "delete from analytics_rollups where organization_id = %s and dim1 like 'phantom-%%'", (organization_id,)
    )
