"""Automated weekly and monthly business reports (docs/reports.md).

Public API (what the scheduled function, the CLI and `wedsync-analytics demo` call):

    from shared import report as reports
    reports.generate(conn_or_transaction, org_id, "weekly" | "monthly", period_start: date, *, deliver: bool,
                     regenerate: bool = False, now: datetime | None = None) -> ReportRecord
    reports.backfill(org_id, kind, from_date, to_date, *, deliver=False, regenerate=False, now=None)
        -> list[ReportRecord]     # periods starting in [from_date, to_date], stopping at the first not closed
    reports.run_due(db.transaction) -> RunOutcome              # what the hourly cron runs
    reports.access.list_reports(conn, org_id) / reports.access.report_file(conn, org_id, report_id, "pdf")
"""

from __future__ import annotations

from shared.report import access, generation, schedule
from shared.report.access import ReportRecord, ReportSummary
from shared.report.schedule import RunOutcome

generate = generation.generate
backfill = generation.backfill
run_due = schedule.run_due

__all__ = ["ReportRecord", "ReportSummary", "RunOutcome", "access", "backfill", "generate", "run_due"]
