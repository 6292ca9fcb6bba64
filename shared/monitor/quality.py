"""Data quality: run every check, keep each result with its history, and answer "how healthy is my data now".

A run covers one organization or all of them, plus the global checks (queue health, storage), stored under
the nil UUID `GLOBAL`. Each run replaces the latest result per subject (`analytics_quality_latest`, what
`latest_results` and the dashboard's GET /v1/quality show) and adds history rows for status changes,
failures and an hourly sample (`analytics_quality_checks`, pruned after QUALITY_HISTORY_DAYS).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
from psycopg import Connection
from pydantic import BaseModel, Field

from shared.core import db, queries
from shared.monitor import business, checks, infrastructure, measurements, reconciliation
from shared.monitor import settings as monitor_settings

log = logging.getLogger(__name__)


class RunSummary(BaseModel):
    run_id: UUID
    results: list[measurements.CheckResult]
    organizations: list[UUID] = Field(default_factory=list, description="Who this run covered (GLOBAL too)")
    skipped: bool = Field(default=False, description="Another run held the lock; this one did nothing")

    @property
    def worst(self) -> measurements.Status:
        statuses = {r.status for r in self.results}
        return "fail" if "fail" in statuses else ("warn" if "warn" in statuses else "pass")


def _guarded(
    conn: Connection[Any],
    orgs: Iterable[UUID],
    name: str,
    now: datetime,
    check: Callable[[], list[measurements.CheckResult]],
) -> list[measurements.CheckResult]:
    """Run one check in a savepoint; a check that crashes is itself a failing result for each organization it
    covers (and so alerts), instead of taking the whole run down with it."""
    try:
        with conn.transaction():
            return check()
    except Exception as exc:  # any crash of one check is reported, the others still run
        log.exception("check %s crashed", name)
        return [
            measurements.CheckResult(
                organization_id=org,
                check=name,
                subject="",
                status="fail",
                value=None,
                threshold=None,
                message=f"the check itself failed: {type(exc).__name__}: {str(exc).strip()[:300]}",
                checked_at=now,
            )
            for org in orgs
        ]


def check_organizations(
    conn: Connection[Any],
    transaction: Callable[[], AbstractContextManager[Connection[Any]]],
    scope: checks.Scope,
    now: datetime,
) -> list[measurements.CheckResult]:
    """Every per-organization check, each one set-based pass over all the organizations of `scope`.
    Reconciliation runs in transactions of its own (`transaction`), the others in the caller's (`conn`)."""
    return [
        *_guarded(conn, scope, "freshness", now, lambda: checks.freshness(conn, scope, now)),
        *_guarded(conn, scope, "volume", now, lambda: checks.volume(conn, scope, now)),
        *_guarded(conn, scope, "rejection_rate", now, lambda: checks.rates(conn, scope, now)),
        *_guarded(conn, scope, "schema_drift", now, lambda: checks.schema_drift(conn, scope, now)),
        *_guarded(conn, scope, "reconciliation", now, lambda: reconciliation.reconcile(transaction, scope, now)),
    ]


def check_global(conn: Connection[Any], now: datetime) -> list[measurements.CheckResult]:
    """The checks that are not about one organization: queues and storage."""
    only = [measurements.GLOBAL]
    return [
        *_guarded(conn, only, "queue_age", now, lambda: infrastructure.queue_health(conn, now)),
        *_guarded(conn, only, "table_size", now, lambda: infrastructure.storage(conn, now)),
    ]


def store(conn: Connection[Any], run_id: UUID, results: list[measurements.CheckResult], covered: list[UUID]) -> None:
    """Record a run in the caller's transaction: the latest result of every subject (subjects of `covered`
    organizations this run did not measure are dropped), and history rows for status changes, failures and
    one sample per QUALITY_HISTORY_SAMPLE_MINUTES otherwise."""
    rows = [
        {
            "run_id": str(run_id),
            "organization_id": str(r.organization_id),
            "check_name": r.check,
            "subject": r.subject,
            "status": r.status,
            "value": r.value,
            "threshold": r.threshold,
            "unit": r.unit,
            "message": r.message,
            "detail": r.detail,
            "checked_at": r.checked_at.isoformat(),
        }
        for r in results
    ]
    if rows:
        conn.execute(
            queries.get("quality_store_result"),
            {
                # orjson: ~10x faster than json for a run's 140,000 results; dates and datetimes still go
                # through str() as json's default=str wrote them, so the stored details read the same
                "rows": orjson.dumps(
                    rows, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
                ).decode(),
                "sample_minutes": monitor_settings.get().quality_history_sample_minutes,
            },
        )
    conn.execute(
        queries.get("quality_forget_unmeasured"), {"organizations": [str(o) for o in covered], "run_id": str(run_id)}
    )


@dataclass(frozen=True)
class _Organization:
    id: UUID
    timezone: str


def run(
    transaction: Callable[[], AbstractContextManager[Connection[Any]]],
    *,
    organization_id: UUID | None = None,
    include_global: bool = True,
    now: datetime | None = None,
) -> RunSummary:
    """Run the checks (one organization or all, plus global ones), store them and prune old history.

    One transaction under a try-lock: a run that overlaps another (a slow cron tick) skips instead of
    doubling history and alerts. Alerting is separate (`alerts.process`), after this commits.
    """
    now = now or datetime.now(UTC)
    run_id = uuid.uuid4()
    results: list[measurements.CheckResult] = []
    with transaction() as conn:
        if not db.fetch_scalar(conn, "quality_run_lock"):
            return RunSummary(run_id=run_id, results=[], skipped=True)
        orgs = db.fetch_all(conn, "quality_organizations", {"id": organization_id}, _Organization)
        results += check_organizations(conn, transaction, {org.id: org.timezone for org in orgs}, now)
        for name, alert in business.CHECKS.items():  # one query per alert over all covered organizations
            results += _guarded(
                conn, [measurements.GLOBAL], name, now, functools.partial(alert, conn, now, organization_id)
            )
        if include_global:
            results += check_global(conn, now)
        covered = [org.id for org in orgs] + ([measurements.GLOBAL] if include_global else [])
        store(conn, run_id, results, covered)
        conn.execute(
            queries.get("quality_prune_history"),
            {"before": now - timedelta(days=monitor_settings.get().quality_history_days)},
        )
    return RunSummary(run_id=run_id, results=results, organizations=covered)


def latest_results(
    conn: Connection[Any], org_id: UUID, *, include_global: bool = True
) -> list[measurements.CheckResult]:
    """The latest result of each of `org_id`'s checks (and of the global ones), for GET /v1/quality.

    A run drops the subjects it no longer measures, so a retired source does not linger with a stale result.
    """
    orgs = [str(org_id)] + ([str(measurements.GLOBAL)] if include_global and org_id != measurements.GLOBAL else [])
    return db.fetch_all(conn, "quality_latest_results", {"organizations": orgs}, measurements.CheckResult)
