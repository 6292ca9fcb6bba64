"""The primitives the demo story is told with: deterministic ids, local times, and recording an event or a
webhook delivery only when it falls inside the year's window.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shared.catalog import currencies
from shared.tools.demo import business
from shared.tools.demo import year as demo_year


@dataclass
class Client:
    """One wedding client of the story: who they are, where they came from and when they marry."""

    id: str
    email: str
    source: business.LeadSource
    inquiry_at: datetime
    wedding: date
    pays_by_card: bool


class Recorder:
    """The story's state (the year, the random stream, the running number) and its primitives."""

    def __init__(self, year: demo_year.Year, rng: random.Random, tz: ZoneInfo) -> None:
        self.y, self.rng, self.tz, self.b = year, rng, tz, year.business
        self.tag = f"d{year.seed}m{year.months}-{year.end_day:%Y%m%d}"
        self.stripe_tag = self.tag.replace("-", "")
        self.n = 0
        self.clients: list[Client] = []

    # ----- primitives -----------------------------------------------------------------------------------------

    def next_id(self, prefix: str = "") -> str:
        self.n += 1
        return f"{self.tag}-{prefix}{self.n:06d}"

    def stripe_id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_{self.stripe_tag}x{self.n:06d}"

    def inside(self, t: datetime) -> bool:
        return self.y.start <= t < self.y.end

    def local(self, day: date, hour: int, minute: int | None = None) -> datetime:
        m = self.rng.randrange(60) if minute is None else minute
        return datetime.combine(day, time(hour, m, self.rng.randrange(60)), self.tz).astimezone(UTC)

    def poisson(self, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def minor(self, major: int, currency: str) -> int:
        return int(major * 10 ** currencies.exponent(currency))

    def emit(self, type_: str, t: datetime, data: dict[str, Any], client_id: str | None = None) -> None:
        event_id = self.next_id()
        if not self.inside(t):
            return
        event: dict[str, Any] = {"event_id": event_id, "type": type_, "occurred_at": t.isoformat(), "data": data}
        if client_id is not None:
            event["client_id"] = client_id
        self.y.events.append(event)

    def deliver(
        self, provider: Literal["stripe", "resend"], delivery_id: str, t: datetime, document: dict[str, Any]
    ) -> None:
        if not self.inside(t):
            return
        self.y.deliveries.append(demo_year.Delivery(provider, delivery_id, t, document))
        if provider == "stripe" and self.rng.random() < 0.04:  # Stripe retries when an answer was slow or lost
            self.y.deliveries.append(demo_year.Delivery(provider, delivery_id, t + timedelta(minutes=5), document))
