"""pgmq access. Every call takes the caller's connection so reads, writes and deletes share one transaction."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from psycopg import Connection
from pydantic import BaseModel

from shared.core import db


@dataclass(frozen=True)
class QueueMessage:
    msg_id: int
    read_ct: int
    enqueued_at: datetime
    message: Any


def _encode(message: BaseModel | dict[str, Any]) -> str:
    if isinstance(message, BaseModel):
        return message.model_dump_json()
    return json.dumps(message, separators=(",", ":"))


def send(conn: Connection[Any], queue: str, message: BaseModel | dict[str, Any]) -> int:
    """Queue one message inside the caller's transaction; returns its id."""
    msg_id = db.fetch_scalar(conn, "queue_send", {"queue": queue, "message": _encode(message)})
    assert msg_id is not None
    return int(msg_id)


def send_batch(conn: Connection[Any], queue: str, messages: Sequence[BaseModel | dict[str, Any]]) -> list[int]:
    """Queue several messages in one statement inside the caller's transaction."""
    if not messages:
        return []
    encoded = [_encode(m) for m in messages]
    return [int(i) for i in db.fetch_scalars(conn, "queue_send_batch", {"queue": queue, "messages": encoded})]


def read(conn: Connection[Any], queue: str, *, visibility_timeout: int, quantity: int) -> list[QueueMessage]:
    """Read up to `quantity` messages, invisible to other readers for `visibility_timeout` seconds.

    If the transaction that read them rolls back (a crash, a kill), the read itself is undone too and the
    messages are visible again at once; the timeout only matters for readers that commit without deleting.
    """
    return db.fetch_all(conn, "queue_read", {"queue": queue, "vt": visibility_timeout, "qty": quantity}, QueueMessage)


# The largest message (in events) of each queue's last `read_deep` in this process: it sizes the next first read.
_largest_seen: dict[str, int] = {}


def read_deep(
    conn: Connection[Any],
    queue: str,
    *,
    visibility_timeout: int,
    quantity: int,
    max_events: int,
    events_in: Callable[[QueueMessage], int],
) -> list[QueueMessage]:
    """Read `quantity` messages; while each read comes back full (the queue is deep) and the messages so far
    hold fewer than `max_events` events, read more in the same transaction.

    A deep queue of small messages (single events) is then processed in a few large transactions instead of
    many small ones: one commit, one aggregate hand-off and one delete for thousands of events. Each further
    read asks for at most `quantity` messages and for no more than the events still allowed would fill at the
    size of the largest message read so far, so a transaction holds at most `max_events` events unless a later
    message is larger than every earlier one (at worst one ordinary read's worth over: what a single read could
    always hold). The reads share the transaction: a rollback returns every message to the queue at once.

    The first read, too, asks for no more messages than `max_events` holds at the size of the largest message of
    this queue's previous read in this process: a queue of large messages (batches of hundreds of events) is read
    a few messages at a time instead of `quantity` at once, so one transaction does not grow to hundreds of
    thousands of events (under load such a transaction ran into the statement timeout and was retried whole).
    """
    first = quantity if max_events <= 0 else min(quantity, max(1, max_events // _largest_seen.get(queue, 1)))
    batch = read(conn, queue, visibility_timeout=visibility_timeout, quantity=first)
    asked, got = first, batch
    events = sum(events_in(m) for m in batch)
    largest = max((events_in(m) for m in batch), default=1)
    while len(got) == asked and events < max_events:
        asked = min(quantity, (max_events - events) // max(largest, 1))
        if asked < 1:
            break
        got = read(conn, queue, visibility_timeout=visibility_timeout, quantity=asked)
        batch += got
        events += sum(events_in(m) for m in got)
        largest = max([largest, *(events_in(m) for m in got)])
    if batch:
        _largest_seen[queue] = largest
    return batch


def delete(conn: Connection[Any], queue: str, msg_ids: list[int]) -> list[int]:
    """Delete processed messages inside the caller's transaction."""
    if not msg_ids:
        return []
    return [int(i) for i in db.fetch_scalars(conn, "queue_delete", {"queue": queue, "ids": msg_ids})]


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    length: int
    oldest_age_seconds: int | None


def depth(conn: Connection[Any], queue: str) -> QueueDepth:
    """How many messages wait on a queue and how old the oldest is."""
    found = db.fetch_one(conn, "queue_metrics", {"queue": queue}, QueueDepth)
    assert found is not None
    return found


class _Outcome(Protocol):
    messages: int

    def add(self, other: Any) -> None: ...


OutcomeT = TypeVar("OutcomeT", bound=_Outcome)


def drain_batches(
    run_batch: Callable[[], OutcomeT],
    budget: timedelta,
    *,
    gather: timedelta = timedelta(0),
    full: Callable[[OutcomeT], bool] | None = None,
) -> tuple[OutcomeT, bool]:
    """Run `run_batch` until it finds the queue empty or `budget` is spent; returns (totals, more_waiting).

    Every queue function drains this way: its caller (the database trigger, the scheduler, the local
    dispatcher) calls again while `more_waiting` is true.

    With `gather`, a batch that was not `full` (the queue held less than one read: messages arriving one by one)
    is followed by a pause of `gather` before the next read, so what arrives meanwhile shares one transaction
    instead of taking one each; each message waits at most `gather` longer. A full batch is followed at once.
    """
    deadline = time.monotonic() + budget.total_seconds()
    totals = last = run_batch()
    while last.messages:
        left = deadline - time.monotonic()
        if left <= 0:
            return totals, True
        if gather and full is not None and not full(last):
            time.sleep(min(gather.total_seconds(), left))
        last = run_batch()
        if not last.messages:
            break
        totals.add(last)
    return totals, False
