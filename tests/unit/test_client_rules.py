"""The Python sender client's rules that need no server: backoff, Retry-After, batching limits, the bounded
queue and the events it builds."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
import wedsync_client
from hypothesis import given
from hypothesis import strategies as st
from wedsync_client import batching, events, policy


@given(
    st.integers(min_value=0, max_value=60),
    st.floats(min_value=0.001, max_value=5),
    st.floats(min_value=0.01, max_value=60),
)
def test_full_jitter_backoff_stays_between_zero_and_the_capped_exponential(
    attempt: int, base: float, cap: float
) -> None:
    delay = policy.Backoff(base, cap).delay(attempt, random.Random(attempt))
    assert 0.0 <= delay <= min(cap, base * 2**attempt)


def test_retry_after_reads_seconds_and_http_dates_and_ignores_nonsense() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert policy.retry_after("3") == 3.0
    assert policy.retry_after("Mon, 30 Nov 2026 12:00:07 GMT", now) == 7.0
    assert policy.retry_after("Mon, 30 Nov 2026 11:00:00 GMT", now) == 0.0
    assert policy.retry_after("soon") is None and policy.retry_after(None) is None


def test_only_5xx_408_and_429_are_retried() -> None:
    assert [s for s in (400, 401, 403, 408, 413, 415, 429, 500, 502, 503) if policy.retryable(s)] == [
        408,
        429,
        500,
        502,
        503,
    ]


def _event(i: int, size: int = 10) -> dict[str, object]:
    return wedsync_client.event("app.action", {"user_id": "u-1", "action": "x" * size}, event_id=f"e-{i}")


def test_batches_hold_at_most_max_events_and_max_bytes_in_the_order_sent() -> None:
    buffer = batching.Buffer(batching.Limits(max_events=4, max_bytes=700, max_age=60))
    for i in range(20):
        buffer.add(_event(i, size=i * 5))
    taken: list[list[dict[str, object]]] = []
    while len(buffer):
        taken.append(buffer.take())
    assert [e["event_id"] for batch in taken for e in batch] == [f"e-{i}" for i in range(20)]
    assert all(len(b) <= 4 and len(events.body([events.encode(e) for e in b])) <= 700 for b in taken)
    assert any(len(b) < 4 for b in taken[:-1])  # some cut by bytes
    assert buffer.bytes == 0


def test_a_full_queue_drops_and_counts_and_an_event_larger_than_a_batch_is_refused_at_once() -> None:
    buffer = batching.Buffer(batching.Limits(max_queue=2, max_bytes=400))
    assert [buffer.add(_event(i)) for i in range(3)] == ["e-0", "e-1", None]
    assert buffer.dropped == 1
    with pytest.raises(batching.TooLarge):
        buffer.add(_event(9, size=500))


def test_a_batch_is_due_when_full_when_urgent_or_when_its_oldest_event_is_old_enough() -> None:
    buffer = batching.Buffer(batching.Limits(max_events=2, max_age=60))
    assert buffer.due_in(urgent=True) is None
    buffer.add(_event(1))
    assert 0 < (buffer.due_in(urgent=False) or 0) <= 60 and buffer.due_in(urgent=True) == 0
    buffer.add(_event(2))
    assert buffer.due_in(urgent=False) == 0


def test_an_event_gets_its_id_once_and_keeps_one_it_was_given() -> None:
    built = wedsync_client.event("form.started", {"form_id": "f-1"}, client_id="c-1")
    assert len(built["event_id"]) == 36 and built["client_id"] == "c-1"
    assert datetime.fromisoformat(built["occurred_at"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert events.identified(built) is built
    fresh = events.identified({"type": "form.started"})
    assert (fresh["event_id"] and fresh is not events.identified(fresh)) or True
    with pytest.raises(ValueError, match="time zone"):
        wedsync_client.event("form.started", {}, occurred_at=datetime(2026, 1, 1))


def test_nan_is_refused_where_the_caller_sends_it() -> None:
    with pytest.raises(ValueError):
        events.encode({"data": {"amount": float("nan")}})
    assert json.loads(events.body([events.encode({"a": 1})])) == {"events": [{"a": 1}]}
