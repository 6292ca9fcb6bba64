"""What to do with an answer of `POST /v1/events`: the ingest contract in one place.

A 202 settles every event of the request (accepted, duplicate or rejected). A dropped connection, a 5xx, a 408
or a 429 means nothing was kept: the same request (the same `event_id`s) is sent again after a backoff, or after
`Retry-After` for a 429. Any other 4xx is the sender's mistake and is never retried.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

# Answers that mean "nothing was kept, send the same request again".
RETRYABLE = frozenset({408, 429})


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits a uniform time in [0, min(cap, base * 2**n)]."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 32))
        return (rng or random).uniform(0.0, ceiling)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retryable(status: int) -> bool:
    """Whether ingest kept nothing and the same request should be sent again."""
    return status >= 500 or status in RETRYABLE


def error_of(body: Any) -> tuple[str, str]:
    """The `error` and `message` of a problem answer, or placeholders when the body is not one."""
    if isinstance(body, dict):
        return str(body.get("error", "http_error")), str(body.get("message", ""))
    return "http_error", str(body)[:500]
