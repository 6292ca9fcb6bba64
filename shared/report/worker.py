"""The report worker: drains the `reports` queue, one report per transaction, many instances side by side.

Each message names one report (organization, kind, period start) that the planner (`schedule.plan`) found due.
In ONE transaction the worker reads the message (pgmq's read skips rows other workers hold), claims and
generates the report, stores its files and record, marks the plan done and deletes the message; only after that
commits does it deliver, exactly as the sequential run did (the report row's lease and per-channel delivery
record keep delivery exactly-once-ish; a crash mid-delivery leaves the lease to expire and the next plan
re-queues the report). What can go wrong:
- a crash mid-report rolls the whole transaction back, read included: the message is at once visible again;
- a generation that fails (storage down, a bug) is recorded on the report row and the message is hidden for
  REPORTS_QUEUE_RETRY_SECONDS, then read again;
- a message read more than QUEUE_MAX_READS times, one whose report can never be made (the organization is gone,
  its settings are invalid) or one that cannot be read is dead-lettered with its reasons: the plan row becomes
  `dead` (an unreadable message goes to pgmq's archive) and the message leaves the queue.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg import Connection, pq
from psycopg.rows import dict_row
from pydantic import BaseModel, ValidationError

from shared.core import db, errors, queries, queues
from shared.core import settings as core_settings
from shared.report import generation
from shared.report import settings as report_settings

log = logging.getLogger(__name__)
Transaction = Callable[[], AbstractContextManager[Connection[Any]]]


class ReportJob(BaseModel):
    """One message of the `reports` queue: the report to make."""

    organization_id: UUID
    kind: Literal["weekly", "monthly"]
    period_start: date


@dataclass
class DrainOutcome:
    """What one drain did. `generated`: reports stored by this drain; `delivered`/`delivery_failed`: delivery
    outcomes; `deferred`: failed attempts left on the queue; `dead`: messages dead-lettered."""

    messages: int = 0
    generated: int = 0
    delivered: int = 0
    delivery_failed: int = 0
    unchanged: int = 0
    deferred: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DrainOutcome) -> None:
        for name in ("messages", "generated", "delivered", "delivery_failed", "unchanged", "deferred", "dead"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


_TERMINAL = (errors.InvalidInput, errors.NotFound)


def _dead(conn: Connection[Any], msg: queues.QueueMessage, job: ReportJob, kind: str, text: str) -> None:
    reasons = [{"loc": ["queue", "reports", msg.msg_id], "type": kind, "msg": text}]
    conn.execute(
        queries.get("report_plan_dead"),
        {
            "organization_id": job.organization_id,
            "kind": job.kind,
            "period_start": job.period_start,
            "error": text[:2000],
            "reasons": json.dumps(reasons),
            "payload": json.dumps(msg.message, default=str),
        },
    )
    queues.delete(conn, report_settings.get().reports_queue, [msg.msg_id])


def _key(job: ReportJob) -> dict[str, Any]:
    return {"organization_id": job.organization_id, "kind": job.kind, "period_start": job.period_start}


def _attempt(
    conn: Connection[Any], msg: queues.QueueMessage, job: ReportJob, now: datetime | None, out: DrainOutcome
) -> generation.Made | None:
    """Generate and store the report and delete its message, in the caller's transaction. A failure that left
    the transaction usable keeps what generation recorded (the report row's error); one that broke it is rolled
    back to the savepoint. Returns what is owed delivery, if anything."""
    cfg = report_settings.get()
    conn.execute("savepoint report_job")
    try:
        found = db.fetch_one(conn, "report_by_period", _key(job), dict_row)
        before = found["status"] if found else None
        made = generation.produce(conn, job.organization_id, job.kind, job.period_start, deliver=True, now=now)
    except Exception as exc:
        if conn.broken or conn.closed:
            raise
        if conn.info.transaction_status == pq.TransactionStatus.INERROR:
            conn.execute("rollback to savepoint report_job")
        text = f"{exc.__class__.__name__}: {exc}"
        out.errors.append(f"organization {job.organization_id} {job.kind} {job.period_start}: {text}")
        if isinstance(exc, _TERMINAL) or msg.read_ct >= core_settings.get_settings().queue_max_reads:
            _dead(conn, msg, job, "report_failed", text)
            out.dead += 1
        else:
            conn.execute(queries.get("report_plan_failed"), {**_key(job), "error": text[:2000]})
            conn.execute(
                queries.get("report_queue_later"),
                {"queue": cfg.reports_queue, "msg_id": msg.msg_id, "seconds": cfg.reports_queue_retry_seconds},
            )
            out.deferred += 1
        return None
    conn.execute("release savepoint report_job")
    queues.delete(conn, cfg.reports_queue, [msg.msg_id])
    conn.execute(queries.get("report_plan_done"), _key(job))
    if made.record.status == "stored" and before != "stored":
        out.generated += 1
    elif not made.owed:
        out.unchanged += 1
    return made if made.owed else None


def run_one(
    transaction: Transaction,
    *,
    now: datetime | None = None,
    seen: set[int] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DrainOutcome:
    """Take one message and make its report (one transaction), then deliver it. Returns an empty outcome when the
    queue has nothing visible (or only a message this drain has already tried: `seen`)."""
    cfg = report_settings.get()
    out = DrainOutcome()
    made: generation.Made | None = None
    with transaction() as conn:
        batch = queues.read(
            conn,
            cfg.reports_queue,
            visibility_timeout=core_settings.get_settings().queue_visibility_timeout_seconds,
            quantity=1,
        )
        if not batch:
            return out
        msg = batch[0]
        if seen is not None:
            if msg.msg_id in seen:  # tried by this drain already: leave it (and this read) for a later drain
                raise psycopg.Rollback()
            seen.add(msg.msg_id)
        out.messages = 1
        try:
            job = ReportJob.model_validate(msg.message)
        except ValidationError as exc:
            conn.execute(queries.get("report_queue_archive"), {"queue": cfg.reports_queue, "msg_id": msg.msg_id})
            out.dead += 1
            out.errors.append(f"message {msg.msg_id} is not a report job: {exc.error_count()} error(s)")
            return out
        made = _attempt(conn, msg, job, now, out)
    if made is not None:
        rec = generation.deliver_owed(transaction, made, sleep=sleep)
        if rec.delivery_status == "delivered":
            out.delivered += 1
        elif rec.delivery_status == "failed":
            out.delivery_failed += 1
    return out


def drain(
    transaction: Transaction,
    *,
    budget: timedelta = timedelta(seconds=300),
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[DrainOutcome, bool]:
    """Make reports until the queue has nothing visible or `budget` is spent; returns (totals, more_waiting).
    A message this drain already tried is not tried again by it: if its retry time passes while the drain runs,
    the drain ends there and a later one (the next wake-up or the safety net) takes it and what follows."""
    seen: set[int] = set()
    return queues.drain_batches(lambda: run_one(transaction, now=now, seen=seen, sleep=sleep), budget)
