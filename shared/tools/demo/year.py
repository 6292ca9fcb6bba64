"""A generated year of a wedding business: the events WedSync would have sent and the webhooks Stripe and Resend
would have delivered, with the window they fall in (`story.generate` tells it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from shared.tools.demo import business as demo_business


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as the provider would post it. A redelivery is a second Delivery with the same id."""

    provider: Literal["stripe", "resend"]
    delivery_id: str  # the Stripe event id, or the svix-id of a Resend delivery
    occurred_at: datetime
    document: dict[str, Any]


@dataclass
class Year:
    business: demo_business.Business
    seed: int
    months: int
    first_day: date
    end_day: date  # exclusive
    start: datetime  # local midnight of first_day, as an aware UTC instant
    end: datetime  # local midnight of end_day
    events: list[dict[str, Any]] = field(default_factory=list)  # first-party catalog events for POST /v1/events
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.events) + len(self.deliveries)


def first_day_of(end_day: date, months: int) -> date:
    """The same day of the month `months` months before end_day (clamped to the month's length)."""
    month_index = end_day.year * 12 + end_day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(end_day.day, last))
