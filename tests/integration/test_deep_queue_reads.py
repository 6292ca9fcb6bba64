"""A deep queue of small messages is processed in fewer, larger transactions, bounded by events, exactly once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from shared.aggregate import aggregation
from shared.core import apikeys, db, queues, settings
from shared.ingest import intake
from shared.validate import validation


def _queue_single_events(make_org: Callable[..., Any], make_event: Callable[..., Any], n: int) -> list[str]:
    org = make_org()
    caller = apikeys.KeyCache().lookup(db.transaction, org.ingest_key)
    assert caller is not None
    events = [make_event() for _ in range(n)]
    for event in events:  # one request, one message, one event each: what single-event senders make
        assert intake.accept(db.transaction, caller, [event]).accepted == 1
    return [e["event_id"] for e in events]


def _settings(monkeypatch: pytest.MonkeyPatch, **values: int) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name.upper(), str(value))
    settings.clear_cache()


def test_a_deep_queue_of_single_events_is_stored_in_reads_that_stop_at_the_event_limit(
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = _queue_single_events(make_org, make_event, 60)
    _settings(monkeypatch, queue_batch_size=10, queue_deep_read_events=35)
    first = validation.run_batch(db.transaction)
    assert (first.messages, first.stored) == (35, 35)  # reads of 10, 10, 10 and 5: the limit, not one read
    second = validation.run_batch(db.transaction)
    assert (second.messages, second.stored) == (25, 25)  # 10, 10, then 5 of 10 asked: the queue is empty
    assert validation.run_batch(db.transaction).messages == 0
    stored = conn.execute("select event_id, count(*) from analytics_events group by 1").fetchall()
    assert sorted(stored) == sorted((i, 1) for i in ids)  # every event once
    handed = conn.execute("select jsonb_array_length(message->'ids') from pgmq.q_aggregate order by msg_id")
    assert [n for (n,) in handed.fetchall()] == [35, 25]  # one hand-off per transaction


def test_with_the_deep_read_off_a_transaction_reads_one_batch_of_messages(
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _queue_single_events(make_org, make_event, 15)
    _settings(monkeypatch, queue_batch_size=10, queue_deep_read_events=0)
    assert validation.run_batch(db.transaction).messages == 10


def test_a_later_larger_message_shrinks_the_next_read(
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = make_org()
    caller = apikeys.KeyCache().lookup(db.transaction, org.ingest_key)
    assert caller is not None
    for size in (1, 1, 8, 1, 1, 1, 1, 1):
        intake.accept(db.transaction, caller, [make_event() for _ in range(size)])
    with db.transaction() as c:
        batch = queues.read_deep(
            c, "ingest", visibility_timeout=30, quantity=2, max_events=20, events_in=validation._events_in
        )
    # 2 messages (2 events), 2 (10; the largest is now 8), then one at a time while another message as large as
    # the largest still fits: (20 - 10) // 8 = 1, (20 - 11) // 8 = 1, (20 - 12) // 8 = 1, (20 - 13) // 8 = 0
    assert [validation._events_in(m) for m in batch] == [1, 1, 8, 1, 1, 1]


def test_a_deep_read_that_rolls_back_returns_every_message_at_once(
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    _queue_single_events(make_org, make_event, 12)

    class Crash(Exception):
        pass

    with pytest.raises(Crash), db.transaction() as c:
        read = queues.read_deep(c, "ingest", visibility_timeout=30, quantity=4, max_events=100, events_in=lambda m: 1)
        assert len(read) == 12
        raise Crash
    visible = conn.execute("select count(*) from pgmq.q_ingest where vt <= now() and read_ct = 0").fetchone()
    assert visible == (12,)


def test_aggregate_reads_a_deep_queue_in_one_transaction_and_counts_each_event_once(
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _queue_single_events(make_org, make_event, 30)
    _settings(monkeypatch, queue_batch_size=5, queue_deep_read_events=0)  # six hand-offs of five events
    while validation.run_batch(db.transaction).messages:
        pass
    assert conn.execute("select count(*) from pgmq.q_aggregate").fetchone() == (6,)
    _settings(monkeypatch, aggregate_batch_size=2, aggregate_deep_read_events=1000)
    outcome = aggregation.run_batch(db.transaction)
    assert (outcome.messages, outcome.events) == (6, 30)
    assert aggregation.run_batch(db.transaction).messages == 0


def test_after_a_read_of_large_messages_the_next_transaction_starts_with_as_many_as_the_event_limit_holds(
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = make_org()
    caller = apikeys.KeyCache().lookup(db.transaction, org.ingest_key)
    assert caller is not None
    for _ in range(24):  # batches of 8 events: what batching senders make
        intake.accept(db.transaction, caller, [make_event() for _ in range(8)])

    def read(quantity: int) -> list[int]:
        with db.transaction() as c:
            batch = queues.read_deep(
                c, "ingest", visibility_timeout=30, quantity=quantity, max_events=20, events_in=validation._events_in
            )
            return [validation._events_in(m) for m in batch]  # committed: these stay hidden for 30 s

    monkeypatch.setattr(queues, "_largest_seen", {})
    assert read(10) == [8] * 10  # nothing known yet: one ordinary read, over the limit as a single read may be
    # 14 more are visible, but the queue's messages are known to hold 8 events: 20 // 8 = 2 messages, then
    # (20 - 16) // 8 = 0 more.
    assert read(10) == [8, 8]
