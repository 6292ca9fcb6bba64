"""Report commands: generate, regenerate, backfill, list, run the schedule (docs/reports.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from uuid import UUID

from shared.core import db
from shared.tools.commands.output import emit


def _day(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-01-31") from None


def _report_line(rec: Any) -> str:
    files = ", ".join(
        f"{fmt} {meta['bytes']:,} B sha256 {meta['sha256'][:12]}" for fmt, meta in sorted(rec.files.items())
    )
    problem = rec.last_error or rec.generation_error
    error = f"; last error: {problem}" if problem else ""
    return (
        f"{rec.kind} {rec.period_start}..{rec.period_end} ({rec.timezone}) {rec.id}: {rec.status}, delivery "
        f"{rec.delivery_status} after {rec.delivery_attempts} attempt(s); {files}{error}"
    )


def cmd_report(args: argparse.Namespace) -> int:
    from shared import report as reports
    from shared.core import errors
    from shared.report import config, content, delivery, periods

    try:
        if args.dead:
            from psycopg.rows import dict_row

            with db.transaction() as conn:
                letters = db.fetch_all(conn, "report_plans_dead", {"limit": args.limit}, dict_row)
            emit(
                {"dead": letters},
                args.json,
                [
                    f"{d['organization_id']} {d['kind']} {d['period_start']} dead since {d['finished_at']:%Y-%m-%d %H:%M}"
                    f": {d['last_error']}"
                    for d in letters
                ]
                or ["no report is dead-lettered"],
            )
            return 0
        if args.due:
            outcome = reports.run_due(db.transaction)
            print(outcome.model_dump_json(indent=2))
            return 0 if not outcome.errors else 1
        if not args.org:
            raise errors.InvalidInput("--org is required (except with --due)")
        org_id = UUID(args.org)
        if args.webhook_secret:
            print(delivery.signing_secret(org_id))
            return 0
        if args.list:
            with db.transaction() as conn:
                found = reports.access.list_reports(conn, org_id, kind=args.kind, limit=args.limit)
            emit(
                {"reports": [r.model_dump(mode="json") for r in found]},
                args.json,
                [
                    f"{r.kind:8} {r.period_start} {r.status:10} delivery {r.delivery_status:13} {r.id} {r.title or ''}"
                    for r in found
                ]
                or ["no reports"],
            )
            return 0
        with db.transaction() as conn:
            org = content.organization(conn, org_id)
        if org is None:
            raise errors.NotFound(f"organization {org_id} does not exist")
        cfg = config.from_settings(org.settings)
        if args.period:
            kind: periods.Kind | None = args.kind or (
                "weekly" if "W" in args.period.upper() else "monthly" if args.period.count("-") == 1 else None
            )
            if kind is None:
                raise errors.InvalidInput("--kind weekly|monthly is needed with a YYYY-MM-DD period")
            period = periods.parse(kind, args.period.upper() if "w" in args.period else args.period, cfg.week_start)
            records = [
                reports.generate(
                    db.transaction,
                    org_id,
                    period.kind,
                    period.start,
                    deliver=not args.no_deliver,
                    regenerate=args.regenerate,
                )
            ]
        elif args.from_date and args.to_date and args.kind:
            records = reports.backfill(
                org_id, args.kind, args.from_date, args.to_date, deliver=not args.no_deliver, regenerate=args.regenerate
            )
        else:
            raise errors.InvalidInput("give --period, or --kind with --from and --to (backfill), or --list, --due")
        emit(
            {"reports": [r.model_dump(mode="json") for r in records]},
            args.json,
            [_report_line(r) for r in records] or ["no closed period in that range"],
        )
        return 0 if all(r.status == "stored" for r in records) else 1
    except (errors.InvalidInput, errors.NotFound, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def register(sub: Any) -> None:
    r = sub.add_parser("report", help="generate, regenerate or backfill business reports; run the schedule")
    r.add_argument("--org", help="organization id")
    r.add_argument("--period", help="2026-W45 (a week), 2026-10 (a month) or a day with --kind")
    r.add_argument("--kind", choices=["weekly", "monthly"])
    r.add_argument("--from", dest="from_date", type=_day, help="backfill: first period start (with --kind, --to)")
    r.add_argument("--to", dest="to_date", type=_day, help="backfill: last period start, inclusive")
    r.add_argument("--regenerate", action="store_true", help="build and store the files again even if stored")
    r.add_argument("--no-deliver", action="store_true", help="store only: send no email and no webhook")
    r.add_argument("--list", action="store_true", help="list the organization's reports")
    r.add_argument("--limit", type=int, default=50)
    r.add_argument("--due", action="store_true", help="plan the reports due now and make them in this process")
    r.add_argument("--dead", action="store_true", help="list the reports the queue dead-lettered, with the reason")
    r.add_argument("--webhook-secret", action="store_true", help="print the organization's webhook signing secret")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_report)
