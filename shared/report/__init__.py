"""Automated weekly and monthly business reports (docs/reports.md).

Public API (what the scheduled function, the CLI and `wedsync-analytics demo` call):

    from shared import report as reports
    reports.generate(conn_or_transaction, org_id, "weekly" | "monthly", period_start: date, *, deliver: bool,
                     regenerate: bool = False, now: datetime | None = None) -> ReportRecord
    reports.backfill(org_id, kind, from_date, to_date, *, deliver=False, regenerate=False, now=None)
        -> list[ReportRecord]     # periods starting in [from_date, to_date], stopping at the first not closed
    reports.plan(db.transaction) -> PlanOutcome                # what the hourly cron runs: queue what is due
    reports.drain(db.transaction) -> (DrainOutcome, more)      # what report-worker runs: make queued reports
    reports.run_due(db.transaction) -> RunOutcome              # both in one process (CLI `report --due`)
    reports.access.list_reports(conn, org_id) / reports.access.report_file(conn, org_id, report_id, "pdf")
"""

from __future__ import annotations

from shared.report import access, generation, schedule, worker
from shared.report.access import ReportRecord, ReportSummary
from shared.report.schedule import PlanOutcome, RunOutcome
from shared.report.worker import DrainOutcome

generate = generation.generate
backfill = generation.backfill
run_due = schedule.run_due
plan = schedule.plan
drain = worker.drain

__all__ = [
    "DrainOutcome",
    "PlanOutcome",
    "ReportRecord",
    "ReportSummary",
    "RunOutcome",
    "access",
    "backfill",
    "drain",
    "generate",
    "plan",
    "run_due",
]
