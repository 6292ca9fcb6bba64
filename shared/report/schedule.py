"""Planning the reports: every organization's reports for the periods that have just closed in its own zone,
plus any report a previous attempt left unfinished or undelivered, queued one message each on the `reports`
queue (what the hourly `report` cron runs); `report-worker` instances drain it (`worker`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from shared.core import db, errors
from shared.report import config, content, generation, periods, worker
from shared.report import settings as report_settings


class RunOutcome(BaseModel):
    """A plan and an in-process drain of its queue (`run_due`)."""

    organizations: int = 0
    queued: int = 0
    dead: int = 0
    generated: int = 0
    delivered: int = 0
    delivery_failed: int = 0
    unchanged: int = 0
    errors: list[str] = Field(default_factory=list)


def _due(transaction: generation.Transaction, now: datetime) -> Iterator[tuple[UUID, periods.Kind, date, str | None]]:
    """(org, kind, period start, error) of every report whose period has just closed at `now`."""
    with transaction() as conn:
        orgs = db.fetch_all(conn, "report_organizations", None, content.Organization)
        firsts = {r["id"]: r["first_at"] for r in db.fetch_all(conn, "report_first_data_all", None, dict_row)}
    for org in orgs:
        org_id, tz = org.id, org.timezone
        try:
            cfg = config.from_settings(org.settings)
        except errors.InvalidInput as exc:
            yield org_id, "weekly", date.min, str(exc)
            continue
        for kind in periods.KINDS:
            if not cfg.wants(kind):
                continue
            period = periods.last_closed(kind, tz, now, cfg.week_start)
            end = period.window(tz)[1]
            first = firsts.get(org_id)
            if first is None or first >= end:
                continue  # no data yet by the period's end: an empty report would tell the owner nothing
            yield org_id, kind, period.start, None


class PlanOutcome(BaseModel):
    """What one planning pass did: organizations looked at, reports due, messages queued, problems."""

    organizations: int = 0
    due: int = 0
    queued: int = 0
    errors: list[str] = Field(default_factory=list)


def plan(transaction: generation.Transaction, *, now: datetime | None = None) -> PlanOutcome:
    """What the hourly `report` cron runs: find every report due now (periods that have just closed in each
    organization's zone, and reports a previous attempt left unfinished or undelivered) and queue one message
    per report on the `reports` queue, in one statement. Idempotent: a report already planned is not queued
    again (the plan row's key is the report's), so a second run in the same hour queues nothing."""
    now = now or datetime.now(UTC)
    outcome = PlanOutcome()
    due: dict[tuple[UUID, str, date], bool] = {}
    seen: set[UUID] = set()
    for org_id, kind, start, problem in _due(transaction, now):
        seen.add(org_id)
        if problem:
            outcome.errors.append(f"organization {org_id}: {problem}")
            continue
        due[(org_id, kind, start)] = False
    for key in _unfinished(transaction):
        due[key] = True  # owed a retry: queued again unless a message of it is still outstanding
    rows = [
        {"organization_id": str(o), "kind": k, "period_start": s.isoformat(), "retry": retry}
        for (o, k, s), retry in due.items()
    ]
    with transaction() as conn:
        queued = db.fetch_scalar(
            conn, "report_plan", {"due": json.dumps(rows), "queue": report_settings.get().reports_queue}
        )
    outcome.organizations, outcome.due, outcome.queued = len(seen), len(rows), int(queued or 0)
    return outcome


def _unfinished(transaction: generation.Transaction) -> list[tuple[UUID, str, date]]:
    s = report_settings.get()
    with transaction() as conn:
        rows = db.fetch_all(
            conn, "report_unfinished", {"max_generation_attempts": s.reports_max_generation_attempts}, dict_row
        )
    return [(r["organization_id"], r["kind"], r["period_start"]) for r in rows]


def run_due(
    transaction: generation.Transaction,
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    budget: timedelta = timedelta(hours=1),
) -> RunOutcome:
    """Plan, then drain the queue in this process: what `wedsync-analytics report --due` and the tests run
    (deployed, the cron plans and report-worker instances drain). One failure never stops the others."""
    planned = plan(transaction, now=now)
    drained, _ = worker.drain(transaction, budget=budget, now=now, sleep=sleep)
    return RunOutcome(
        organizations=planned.organizations,
        queued=planned.queued,
        generated=drained.generated,
        delivered=drained.delivered,
        delivery_failed=drained.delivery_failed,
        unchanged=drained.unchanged,
        dead=drained.dead,
        errors=planned.errors + drained.errors,
    )
