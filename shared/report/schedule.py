"""The scheduled run of the reports: every organization's reports for the periods that have just closed in its
own zone, plus any report a previous run left unfinished or undelivered (what the hourly `report` cron runs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from uuid import UUID

from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from shared.core import db, errors
from shared.report import config, content, generation, periods
from shared.report import settings as report_settings

log = logging.getLogger(__name__)


class RunOutcome(BaseModel):
    organizations: int = 0
    generated: int = 0
    delivered: int = 0
    delivery_failed: int = 0
    unchanged: int = 0
    errors: list[str] = Field(default_factory=list)


def _due(transaction: generation.Transaction, now: datetime) -> Iterator[tuple[UUID, periods.Kind, date, str | None]]:
    """(org, kind, period start, error) of every report the schedule owes at `now`, then unfinished ones."""
    with transaction() as conn:
        orgs = db.fetch_all(conn, "report_organizations", None, content.Organization)
        firsts = {r["id"]: r["first_at"] for r in db.fetch_all(conn, "report_first_data_all", None, dict_row)}
        s = report_settings.get()
        unfinished = db.fetch_all(
            conn, "report_unfinished", {"max_generation_attempts": s.reports_max_generation_attempts}, dict_row
        )
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
    for r in unfinished:
        yield r["organization_id"], r["kind"], r["period_start"], None


def run_due(
    transaction: generation.Transaction, *, now: datetime | None = None, sleep: Callable[[float], None] = time.sleep
) -> RunOutcome:
    """The scheduled run: every organization's reports for the periods that have just closed in its own zone,
    plus any report a previous run left unfinished or undelivered. One failure never stops the others."""
    now = now or datetime.now(UTC)
    outcome = RunOutcome()
    try:  # funnel and booking figures read the views: bring them up to date if a refresh is due
        from shared.refresh import views as refresh

        refresh.run(transaction)
    except Exception as exc:  # a failed refresh must not stop the reports; their data-quality line says so
        log.warning("view refresh before reports failed: %s", exc)
    seen_orgs: set[UUID] = set()
    done: set[tuple[UUID, str, date]] = set()
    for org_id, kind, start, problem in _due(transaction, now):
        seen_orgs.add(org_id)
        if problem:
            outcome.errors.append(f"organization {org_id}: {problem}")
            continue
        if (org_id, kind, start) in done:
            continue
        done.add((org_id, kind, start))
        with transaction() as conn:
            found = db.fetch_one(
                conn, "report_by_period", {"organization_id": org_id, "kind": kind, "period_start": start}, dict_row
            )
            before = (found["status"], found["delivery_status"], found["delivery_attempts"]) if found else None
        try:
            rec = generation.generate(transaction, org_id, kind, start, deliver=True, now=now, sleep=sleep)
        except Exception as exc:
            outcome.errors.append(f"organization {org_id} {kind} {start}: {exc.__class__.__name__}: {exc}")
            continue
        after = (rec.status, rec.delivery_status, rec.delivery_attempts)
        if before is not None and tuple(before) == after:
            outcome.unchanged += 1
            continue
        if before is None or before[0] != "stored":
            outcome.generated += 1
        if rec.delivery_status == "delivered" and (before is None or before[1] != "delivered"):
            outcome.delivered += 1
        elif rec.delivery_status == "failed":
            outcome.delivery_failed += 1
    outcome.organizations = len(seen_orgs)
    return outcome
