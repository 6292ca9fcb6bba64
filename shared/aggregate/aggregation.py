"""The aggregate stage: fold stored events into the rollups, exactly once.

One transaction reads a batch of `StoredEvents` messages from the aggregate queue, adds all their events to
the rollups with one pre-aggregated, key-ordered upsert (`analytics_aggregate_events_v1`), bumps each affected
organization's `data_version`, publishes its change notice, flags the materialized views whose inputs changed
and deletes the messages. A crash anywhere rolls all of it back, including the read, so the batch is counted
again from scratch, never twice. Workers running side by side hold the organization's rollup lock shared and
touch rows in key order, so they neither deadlock nor lose updates; rebuild and reconcile take it exclusively.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from pydantic import ValidationError

from shared.aggregate import settings as aggregate_settings
from shared.core import contracts, db, deadletters, errors, queues
from shared.refresh import views as refresh

Transaction = Callable[[], AbstractContextManager[Connection[Any]]]


@dataclass(frozen=True)
class _Applied:
    """What `analytics_aggregate_events_v1` did for one organization."""

    organization_id: UUID
    events: int
    data_version: int
    views_pending: bool


@dataclass
class BatchOutcome:
    """What one batch did; `messages` is 0 when the queue was empty."""

    messages: int = 0
    events: int = 0
    organizations: int = 0
    dead_messages: int = 0
    deferred: int = 0  # left on the queue after a transient error, for a later read

    def add(self, other: BatchOutcome) -> None:
        for name in ("messages", "events", "organizations", "dead_messages", "deferred"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _dead_letter(msg: queues.QueueMessage, type_: str, text: str) -> deadletters.DeadLetter:
    raw = msg.message if isinstance(msg.message, dict) else {"message": msg.message}
    try:
        org = UUID(str(raw.get("organization_id")))
    except ValueError:
        org = deadletters.UNKNOWN_ORGANIZATION
    reason = deadletters.Reason(loc=["queue", "aggregate", msg.msg_id], type=type_, msg=text)
    return deadletters.DeadLetter(org, "pipeline", "aggregate", raw, [reason], None, None)


def _parse(
    batch: list[queues.QueueMessage],
) -> tuple[list[contracts.StoredEvents], list[deadletters.DeadLetter]]:
    cfg = aggregate_settings.get()
    good: list[contracts.StoredEvents] = []
    dead: list[deadletters.DeadLetter] = []
    for msg in batch:
        if msg.read_ct > cfg.queue_max_reads:
            dead.append(
                _dead_letter(
                    msg,
                    "retry_limit",
                    f"read {msg.read_ct} times without being processed "
                    f"(limit {cfg.queue_max_reads}); replay this letter once fixed",
                )
            )
            continue
        try:
            good.append(contracts.StoredEvents.model_validate(msg.message))
        except ValidationError as exc:
            dead.append(
                _dead_letter(
                    msg,
                    "bad_message",
                    "not a StoredEvents message: " + "; ".join(r.msg for r in deadletters.reasons_from(exc)),
                )
            )
    return good, dead


def apply(conn: Connection[Any], messages: list[contracts.StoredEvents]) -> tuple[int, int]:
    """Add the events of these messages to the rollups in the caller's transaction; returns (events, orgs).

    The caller must delete the messages in the same transaction, or the events will be counted again.
    """
    ids = sorted({i for m in messages for i in m.ids})
    if not ids:
        return 0, 0
    start = min(m.occurred_from for m in messages)
    end = max(m.occurred_to for m in messages)
    applied = db.fetch_all(conn, "aggregate_events", {"ids": ids, "from": start, "to": end}, _Applied)
    if applied:  # the rollup locks are held and the organization rows touched: state rows come after them
        db.fetch_scalar(conn, "state_add", {"ids": ids, "from": start, "to": end})
    if any(a.views_pending for a in applied):
        refresh.request_in(conn)  # views refresh at most once per debounce period
    return sum(int(a.events) for a in applied), len(applied)


def _finish(conn: Connection[Any], batch: list[queues.QueueMessage]) -> BatchOutcome:
    good, dead = _parse(batch)
    events, orgs = apply(conn, good)
    deadletters.record(conn, dead)
    queues.delete(conn, aggregate_settings.get().aggregate_queue, [m.msg_id for m in batch])
    return BatchOutcome(messages=len(batch), events=events, organizations=orgs, dead_messages=len(dead))


def _ids_in(msg: queues.QueueMessage) -> int:
    found = msg.message.get("ids") if isinstance(msg.message, dict) else None
    return len(found) if isinstance(found, list) else 1


def _read(conn: Connection[Any], *, deep: bool = True) -> list[queues.QueueMessage]:
    """A batch of messages; deeper (up to AGGREGATE_DEEP_READ_EVENTS events) while the queue is deep."""
    cfg = aggregate_settings.get()
    return queues.read_deep(
        conn,
        cfg.aggregate_queue,
        visibility_timeout=cfg.queue_visibility_timeout_seconds,
        quantity=cfg.aggregate_batch_size,
        max_events=cfg.aggregate_deep_read_events if deep else 0,
        events_in=_ids_in,
    )


def run_batch(transaction: Transaction) -> BatchOutcome:
    """Aggregate one batch of the aggregate queue in one transaction; an empty queue gives `messages == 0`.

    A transient error propagates: the transaction, read included, rolls back and the batch is read again later.
    If the database refuses the batch as a whole (a terminal error), the batch is read again and each message
    is applied in its own savepoint, so one poisoned message is dead-lettered instead of holding up the rest.
    """
    try:
        with transaction() as conn:
            batch = _read(conn)
            return _finish(conn, batch) if batch else BatchOutcome()
    except errors.DatabaseRejected:
        return _run_isolated(transaction)


def _run_isolated(transaction: Transaction) -> BatchOutcome:
    """One savepoint per message: a message refused for its content is dead-lettered (and can be replayed); one
    that meets a transient error stays on the queue for a later read. A lost connection ends the whole batch."""
    outcome = BatchOutcome()
    with transaction() as conn:
        for msg in _read(conn, deep=False):
            try:
                with conn.transaction():
                    outcome.add(_finish(conn, [msg]))
            except Exception as exc:
                if conn.broken or conn.closed:
                    raise
                if errors.is_transient(exc):
                    outcome.add(BatchOutcome(messages=1, deferred=1))
                    continue
                deadletters.record(
                    conn,
                    [
                        _dead_letter(
                            msg, "aggregate_failed", f"the database refused this message: {str(exc).strip()[:500]}"
                        )
                    ],
                )
                queues.delete(conn, aggregate_settings.get().aggregate_queue, [msg.msg_id])
                outcome.add(BatchOutcome(messages=1, dead_messages=1))
    return outcome


def drain(transaction: Transaction, *, budget: timedelta = timedelta(seconds=20)) -> tuple[BatchOutcome, bool]:
    """Run batches until the queue is empty or the time budget is spent; returns (totals, more_waiting)."""
    return queues.drain_batches(lambda: run_batch(transaction), budget)
