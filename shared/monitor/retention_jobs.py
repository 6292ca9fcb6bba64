"""Retention fanned out per organization through the `retention` queue (docs/scaling.md, "Fan-out").

The daily `retention` cron plans (`retention.plan`): partitions, global prunes, then one message per
organization naming its cutoff. `retention-worker` instances take one message at a time: in ONE transaction they
read it (pgmq skips messages other workers hold), delete one batch of the organization's expired raw events and
one batch of its prunable idempotency keys, and then delete the message, or, if a batch came back full (more is
due), make it visible again at once, so the next read (by any worker) carries on. A transaction is therefore
bounded by RETENTION_BATCH_SIZE rows per table whatever an organization's backlog, many organizations are worked
on at once, and a crash rolls the batch back with the read. Deleting what is past a cutoff is idempotent, so a
message read twice does no harm. A batch that fails is retried after the visibility timeout; one that failed
QUEUE_MAX_READS times is archived (pgmq's `a_retention` table) and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection, pq
from pydantic import BaseModel, ValidationError

from shared.core import db, queries, queues
from shared.core import settings as core_settings
from shared.monitor import settings as monitor_settings

log = logging.getLogger(__name__)
Transaction = Callable[[], AbstractContextManager[Connection[Any]]]


class RetentionJob(BaseModel):
    """One message of the `retention` queue: what of one organization is past its retention."""

    organization_id: UUID
    before: datetime  # raw events that occurred before this go, and their keys
    stored_before: datetime  # ...keys only once stored before this too (the re-send window)


@dataclass
class RetentionDrain:
    """What a worker's drain did."""

    messages: int = 0
    rows_deleted: dict[UUID, int] = field(default_factory=dict)
    keys_pruned: int = 0
    deferred: int = 0
    archived: int = 0

    def add(self, other: RetentionDrain) -> None:
        self.messages += other.messages
        for org, n in other.rows_deleted.items():
            self.rows_deleted[org] = self.rows_deleted.get(org, 0) + n
        self.keys_pruned += other.keys_pruned
        self.deferred += other.deferred
        self.archived += other.archived


def plan(conn: Connection[Any], cutoffs: dict[UUID, datetime], stored_before: datetime) -> int:
    """Queue one message per organization of `cutoffs` that has none waiting, in the caller's transaction."""
    if not cutoffs:
        return 0
    orgs = sorted(cutoffs, key=str)
    params = {
        "queue": monitor_settings.get().retention_queue,
        "orgs": orgs,
        "befores": [cutoffs[o] for o in orgs],
        "stored_before": stored_before,
    }
    return int(db.fetch_scalar(conn, "retention_plan", params) or 0)


def _later(conn: Connection[Any], msg_id: int, seconds: int) -> None:
    conn.execute(
        queries.get("retention_queue_again"),
        {"queue": monitor_settings.get().retention_queue, "msg_id": msg_id, "seconds": seconds},
    )


def _archive(conn: Connection[Any], msg: queues.QueueMessage, why: str) -> None:
    log.error("retention message %s archived: %s (%s)", msg.msg_id, why, msg.message)
    conn.execute(
        queries.get("retention_queue_archive"), {"queue": monitor_settings.get().retention_queue, "msg_id": msg.msg_id}
    )


def _work(conn: Connection[Any], job: RetentionJob, batch: int) -> tuple[int, int]:
    """One batch of each table for the job's organization; returns (events deleted, keys pruned)."""
    org = {"organization_id": job.organization_id, "batch": batch}
    events = int(db.fetch_scalar(conn, "retention_delete_batch", {**org, "before": job.before}) or 0)
    keys = int(
        db.fetch_scalar(conn, "retention_prune_keys", {**org, "before": job.before, "stored_before": job.stored_before})
        or 0
    )
    return events, keys


def run_one(transaction: Transaction) -> RetentionDrain:
    """Take one message and do one batch of its organization's retention, all in one transaction."""
    cfg = monitor_settings.get()
    out = RetentionDrain()
    with transaction() as conn:
        batch = queues.read(
            conn, cfg.retention_queue, visibility_timeout=cfg.queue_visibility_timeout_seconds, quantity=1
        )
        if not batch:
            return out
        msg = batch[0]
        out.messages = 1
        try:
            job = RetentionJob.model_validate(msg.message)
        except ValidationError as exc:
            _archive(conn, msg, f"not a retention message: {exc.errors()[0]['msg']}")
            out.archived = 1
            return out
        conn.execute("savepoint retention_job")
        try:
            events, keys = _work(conn, job, cfg.retention_batch_size)
        except Exception as exc:
            if conn.broken or conn.closed:
                raise
            if conn.info.transaction_status == pq.TransactionStatus.INERROR:
                conn.execute("rollback to savepoint retention_job")
            if msg.read_ct >= core_settings.get_settings().queue_max_reads:
                _archive(conn, msg, f"failed {msg.read_ct} times, last: {exc}")
                out.archived = 1
            else:  # left hidden for the visibility timeout its read set: retried then
                log.warning("retention of %s failed, retried later: %s", job.organization_id, exc)
                out.deferred = 1
            return out
        conn.execute("release savepoint retention_job")
        if events:
            out.rows_deleted[job.organization_id] = events
        out.keys_pruned = keys
        if events >= cfg.retention_batch_size or keys >= cfg.retention_batch_size:
            _later(conn, msg.msg_id, 0)  # more is due: back on the queue at once, for whichever worker is free
        else:
            queues.delete(conn, cfg.retention_queue, [msg.msg_id])
    return out


def drain(transaction: Transaction, *, budget: timedelta = timedelta(seconds=50)) -> tuple[RetentionDrain, bool]:
    """Run `run_one` until the queue is empty or the budget is spent; returns (totals, more_waiting)."""
    return queues.drain_batches(lambda: run_one(transaction), budget)
