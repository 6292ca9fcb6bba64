"""Retention: raw events older than an organization's `settings.retention_days` (default 730) are removed, and
everything else that grows with traffic is kept per a documented retention (docs/quality.md, "Retention").

Whole monthly partitions of analytics_events are dropped when every organization's retention allows it (the
partition ends before the OLDEST cutoff, i.e. the longest retention); otherwise rows are deleted per
organization in batches by `retention-worker` instances, one `retention` queue message per organization
(retention_jobs.py), each batch its own transaction. Rollups keep the history. Events of organizations that no
longer exist expire after the default retention.

Partitions are made by pg_partman where it manages the table (supabase/migrations/20261130090000_partman.sql),
by our own SQL otherwise; each run first runs that maintenance (partman's `run_maintenance` for the table, then
row-level security on every new partition), so the monitor's schedule keeps partitions made ahead too.

Bounded growth, each a batched delete in short transactions:
- idempotency keys (`analytics_event_keys`) once their event is past the organization's cutoff AND they were
  stored more than IDEMPOTENCY_RESEND_DAYS ago, so a re-send within that window is still a duplicate and a key
  is never removed while its event is stored (which would let a re-send be stored twice). The key table is not
  partitioned (its primary key is the idempotency guarantee and would have to include a partition key), so it
  is pruned by delete along an (organization, occurred_at) index;
- dead letters not seen again within their state's retention; hourly intake counters past theirs;
- pg_cron's run history (`cron.job_run_details`), where pg_cron is installed.
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
from shared.monitor import retention_jobs
from shared.monitor import settings as monitor_settings


class RetentionReport(BaseModel):
    cutoffs: dict[UUID, datetime] = Field(description="Per organization: events before this are removed")
    partition_manager: str = Field(default="own", description="'pg_partman' or 'own' (our SQL functions)")
    partitions_created: int = Field(default=0, description="Partitions made ahead by this run's maintenance")
    partitions_dropped: list[str] = Field(default_factory=list)
    partitions_kept: dict[str, str] = Field(
        default_factory=dict,
        description="Partitions that were due but could not be dropped (e.g. a lock "
        "timeout), with why; their rows are deleted row by row instead",
    )
    rows_in_dropped_partitions: int = 0
    rows_deleted: dict[UUID, int] = Field(default_factory=dict)
    keys_pruned: int = Field(default=0, description="Idempotency keys past their event's retention and re-sends")
    organizations_queued: int = Field(
        default=0, description="Organizations queued for retention-worker (rows and keys past their cutoff)"
    )
    dead_letters_deleted: int = 0
    source_stats_deleted: int = 0
    cron_runs_deleted: int | None = Field(default=None, description="None where pg_cron is not installed")


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


def plan(
    transaction: Callable[[], AbstractContextManager[Connection[Any]]], *, now: datetime | None = None
) -> RetentionReport:
    """What the daily cron runs: partition maintenance, whole partitions dropped, the global prunes, and one
    `retention` message per organization for `retention-worker` (retention_jobs.py) to delete its rows and keys."""
    cfg = monitor_settings.get()
    now = now or datetime.now(UTC)
    default_cutoff = now - timedelta(days=cfg.retention_default_days)
    with transaction() as conn:
        manager = str(db.fetch_scalar(conn, "retention_partition_manager"))
        created = int(db.fetch_scalar(conn, "retention_partition_maintenance", {"from": now.date()}) or 0)
    with transaction() as conn:
        per_org = cutoffs(conn, now)
        orphans = set(db.fetch_scalars(conn, "retention_orphan_organizations", {"before": default_cutoff}))
        key_orgs = set(db.fetch_scalars(conn, "retention_key_organizations"))
        partitions = db.fetch_all(conn, "quality_partitions", None, _Partition)
    report = RetentionReport(cutoffs=per_org, partition_manager=manager, partitions_created=created)
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
    bound_growth(transaction, report, now)
    # Organizations that no longer exist (events or keys left) expire by the default retention.
    targets = {**dict.fromkeys(orphans | key_orgs, default_cutoff), **per_org}
    with transaction() as conn:
        report.organizations_queued = retention_jobs.plan(
            conn, targets, now - timedelta(days=cfg.idempotency_resend_days)
        )
    return report


def run(
    transaction: Callable[[], AbstractContextManager[Connection[Any]]], *, now: datetime | None = None
) -> RetentionReport:
    """Plan, then drain the organizations' retention in this process (the CLI, and local runs); safe to run again
    at any time (it only removes what is due)."""
    report = plan(transaction, now=now)
    more = True
    while more:
        drained, more = retention_jobs.drain(transaction)
        for org, n in drained.rows_deleted.items():
            report.rows_deleted[org] = report.rows_deleted.get(org, 0) + n
        report.keys_pruned += drained.keys_pruned
    return report


def _drain(
    transaction: Callable[[], AbstractContextManager[Connection[Any]]], query: str, params: dict[str, Any]
) -> int:
    """Run a batched delete (`batch` rows at most, returning how many) until a batch comes back short."""
    size = monitor_settings.get().retention_batch_size
    total = 0
    while True:
        with transaction() as conn:
            n = int(db.fetch_scalar(conn, query, {**params, "batch": size}) or 0)
        total += n
        if n < size:
            return total


def bound_growth(
    transaction: Callable[[], AbstractContextManager[Connection[Any]]], report: RetentionReport, now: datetime
) -> None:
    """Prune old dead letters, old intake counters and pg_cron's run history (each one statement over every
    organization, in batches); adds the counts to `report`. Idempotency keys are pruned per organization by
    retention-worker (retention_jobs.py), below the organization's raw-event cutoff and out of the re-send window."""
    cfg = monitor_settings.get()
    for states, days in (
        (["pending", "failed"], cfg.retention_dead_letters_days),
        (["replayed", "discarded"], cfg.retention_dead_letters_resolved_days),
    ):
        params = {"states": states, "before": now - timedelta(days=days)}
        report.dead_letters_deleted += _drain(transaction, "retention_delete_dead_letters", params)
    before = now - timedelta(days=cfg.retention_source_stats_days)
    report.source_stats_deleted = _drain(transaction, "retention_delete_source_stats", {"before": before})
    with transaction() as conn:
        has_cron = bool(db.fetch_scalar(conn, "retention_has_cron_history"))
    if has_cron:
        before = now - timedelta(days=cfg.retention_cron_history_days)
        report.cron_runs_deleted = _drain(transaction, "retention_purge_cron_history", {"before": before})
