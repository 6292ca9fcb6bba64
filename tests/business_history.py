"""Generated business history for the business-alert tests: seasonal weekly inquiries with Poisson noise (a fixed
seed), payments and reviews, stored as the validate stage stores events and rolled up by the aggregation stage's
own rebuild (so the rollups the alerts read are the real ones, and reconcile finds nothing to report)."""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

from shared.aggregate import recovery

# A Monday noon in Europe/London's summer: "now" of the tests. The judged week is the 7 local days before it.
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)
_ids = itertools.count(1)


def seasonal_mean(week_start: datetime, base: float) -> float:
    """The usual inquiries of a week: `base` at the yearly average, 1.7x at the January-February peak of
    engagement season, 0.3x in the autumn trough (a smooth yearly curve)."""
    day = week_start.timetuple().tm_yday
    return base * (1.0 + 0.7 * math.cos(2 * math.pi * (day - 40) / 365.25))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class History:
    """Events to store for one organization; `add` spreads n events of a type over a week."""

    org: UUID
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, event_type: str, at: datetime, n: int = 1, **properties: Any) -> None:
        for i in range(n):
            when = at + timedelta(hours=(i * 37) % (7 * 24 - 2), minutes=7)
            self.rows.append(
                {
                    "event_id": f"gen-{next(_ids)}",
                    "event_type": event_type,
                    "occurred_at": when.isoformat(),
                    "client_id": f"c-{next(_ids)}",
                    "booking_id": properties.get("booking_id"),
                    "amount_minor": properties.get("amount_minor", properties.get("value_minor")),
                    "currency": properties.get("currency"),
                    "properties": json.dumps(properties),
                }
            )


def weeks_before(now: datetime, count: int) -> list[datetime]:
    """The starts (Monday 00:00 UTC) of the `count` whole weeks before `now`'s week, oldest first."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return [monday - timedelta(weeks=w) for w in range(count, 0, -1)]


def seasonal_inquiries(
    history: History, rng: random.Random, *, base: float, weeks: Iterable[datetime], dip: dict[datetime, float]
) -> dict[datetime, int]:
    """Store Poisson(seasonal mean) inquiries per week (times dip[week] for a dipped week); returns the counts."""
    counts = {}
    for start in weeks:
        n = poisson(rng, seasonal_mean(start, base) * dip.get(start, 1.0))
        history.add("inquiry.received", start, n, channel="web_form", lead_source="instagram")
        counts[start] = n
    return counts


def store(conn: psycopg.Connection[Any], history: History) -> None:
    """Store the events (keys + rows) in one statement and rebuild the rollups over their span."""
    if not history.rows:
        return
    conn.execute(
        """with input as (
             select * from jsonb_to_recordset(%(rows)s::jsonb) as t(event_id text, event_type text,
               occurred_at timestamptz, client_id text, booking_id text, amount_minor bigint, currency text,
               properties text)
           ), keyed as (
             insert into analytics_event_keys (organization_id, event_id, occurred_at)
             select %(org)s, event_id, occurred_at from input
             returning id, event_id
           )
           insert into analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at,
             received_at, stored_at, source, client_id, booking_id, amount_minor, currency, properties)
           select k.id, %(org)s, i.event_id, i.event_type, 1, i.occurred_at, i.occurred_at, i.occurred_at, 'api',
                  i.client_id, i.booking_id, i.amount_minor, i.currency, i.properties::jsonb
           from input i join keyed k using (event_id)""",
        {"rows": json.dumps(history.rows), "org": history.org},
    )
    times = [datetime.fromisoformat(r["occurred_at"]) for r in history.rows]
    with conn.transaction():
        recovery.rebuild(conn, history.org, min(times), max(times) + timedelta(minutes=1))
