"""Retention: raw events older than an organization's `settings.retention_days` (default 730) are removed.

Whole monthly partitions of analytics_events are dropped when every organization's retention allows it (the
partition ends before the OLDEST cutoff, i.e. the longest retention); otherwise rows are deleted per
organization in batches, each its own transaction. Only analytics_events is touched: the rollups keep the
history, and the idempotency keys (`analytics_event_keys`, no personal data) are KEPT, so a late resend of
an expired event is still recognised as a duplicate instead of being stored and counted into the rollups a
second time. Events of organizations that no longer exist expire after the default retention.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from shared.core import db, errors
from shared.monitor import settings as monitor_settings


class RetentionReport(BaseModel):
    cutoffs: dict[UUID, datetime] = Field(description="Per organization: events before this are removed")
    partitions_dropped: list[str] = Field(default_factory=list)
    partitions_kept: dict[str, str] = Field(
        default_factory=dict,
        description="Partitions that were due but could not be dropped (e.g. a lock "
        "timeout), with why; their rows are deleted row by row instead",
    )
    rows_in_dropped_partitions: int = 0
    rows_deleted: dict[UUID, int] = Field(default_factory=dict)


@dataclass(frozen=True)
class _Partition:
    """A monthly partition of analytics_events and its range."""

    name: str
    range_from: datetime | None
    range_to: datetime | None


def cutoffs(conn: Connection[Any], now: datetime) -> dict[UUID, datetime]:
    """Every organization's cutoff (now minus its retention days, or the default)."""
    default = monitor_settings.get().retention_default_days
    return {
        r["id"]: now - timedelta(days=r["days"] or default)
        for r in db.fetch_all(conn, "retention_cutoffs", None, dict_row)
    }


def run(
    transaction: Callable[[], AbstractContextManager[Connection[Any]]], *, now: datetime | None = None
) -> RetentionReport:
    """Apply every organization's retention; safe to run again at any time (it only removes what is due)."""
    cfg = monitor_settings.get()
    now = now or datetime.now(UTC)
    default_cutoff = now - timedelta(days=cfg.retention_default_days)
    with transaction() as conn:
        per_org = cutoffs(conn, now)
        orphans = set(db.fetch_scalars(conn, "retention_orphan_organizations", {"before": default_cutoff}))
        partitions = db.fetch_all(conn, "quality_partitions", None, _Partition)
    report = RetentionReport(cutoffs=per_org)
    oldest_cutoff = min([*per_org.values(), default_cutoff])
    for partition in partitions:
        name, end = partition.name, partition.range_to
        if end is not None and end <= oldest_cutoff:
            try:
                with transaction() as conn:
                    dropped = db.fetch_scalar(
                        conn,
                        "retention_drop_partition",
                        {"name": name, "before": oldest_cutoff, "lock_timeout_ms": cfg.retention_lock_timeout_ms},
                    )
            except errors.PipelineError as exc:
                report.partitions_kept[name] = str(exc)[:300]
                continue
            report.partitions_dropped.append(name)
            report.rows_in_dropped_partitions += int(dropped) if dropped is not None else 0
    targets = {**per_org, **dict.fromkeys(orphans, default_cutoff)}
    for org, cutoff in sorted(targets.items(), key=lambda kv: str(kv[0])):
        deleted = 0
        while True:
            with transaction() as conn:
                batch = db.fetch_scalar(
                    conn,
                    "retention_delete_batch",
                    {"organization_id": org, "before": cutoff, "batch": cfg.retention_batch_size},
                )
            n = int(batch) if batch is not None else 0
            deleted += n
            if n < cfg.retention_batch_size:
                break
        if deleted:
            report.rows_deleted[org] = deleted
    return report
