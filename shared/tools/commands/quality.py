"""Data quality commands: checks, dead-letter list and replay, retention, erasure (docs/quality.md)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from shared.core import db
from shared.tools.commands.output import emit

MAX_LIMIT = 10_000  # replay.LetterFilter.limit's bound

# --- data quality: checks, dead-letter replay, retention, erasure (docs/quality.md) -------------------------


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, such as 2026-11-24T09:00 or 2026-11-24T09:00+01:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _limit(text: str) -> int:
    """--limit within what the filter accepts, as an argparse error instead of a validation traceback."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{value} is out of range: choose 1 to {MAX_LIMIT}")
    return value


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an organization id (a UUID)") from None


def _letter_filter(args: argparse.Namespace, limit: int) -> Any:
    from shared.validate import replay

    return replay.LetterFilter(
        organization_id=args.org,
        ids=args.id or None,
        source=args.source,
        stage=args.stage,
        reason=args.reason,
        states=args.state or None,
        since=args.since,
        until=args.until,
        limit=limit,
    )


def cmd_dead_letters_list(args: argparse.Namespace) -> int:
    from shared.validate import replay

    with db.transaction() as conn:
        letters = replay.list_letters(conn, _letter_filter(args, args.limit))
    if args.json:
        print(json.dumps([json.loads(x.model_dump_json()) for x in letters], indent=2))
    else:
        for item in letters:
            reasons = "; ".join(f"{'.'.join(map(str, r['loc']))}: {r['msg']}" for r in item.reasons)
            print(
                f"{item.id}  {item.stage:<8} {item.source:<10} {item.replay_state:<8} x{item.attempts} "
                f"{item.event_id or '-'}  {reasons}"
            )
    return 0


def cmd_dead_letters_replay(args: argparse.Namespace) -> int:
    from shared.validate import replay

    if not (args.org or args.id or args.source or args.reason or args.all):
        print(
            "error: choose letters with --org, --id, --source or --reason (or --all for every replayable one)",
            file=sys.stderr,
        )
        return 2
    with db.transaction() as conn:
        result = replay.replay(conn, _letter_filter(args, args.limit))
    emit(
        result.model_dump(mode="json"),
        args.json,
        [
            f"replayed {result.replayed} dead letter(s) in {result.messages} queue message(s)"
            + (f"; {result.skipped} skipped (locked or not an event)" if result.skipped else ""),
            "The validate stage stores what now passes; what still fails comes back as 'failed' with new reasons.",
        ],
    )
    return 0


def cmd_quality_check(args: argparse.Namespace) -> int:
    from shared.monitor import alerts, measurements, quality

    summary = quality.run(db.transaction, organization_id=args.org, include_global=not args.org or args.include_global)
    if summary.skipped:
        print("another check run is in progress; try again in a moment", file=sys.stderr)
        return 3
    sent = alerts.process(db.transaction, summary)
    if args.json:
        print(
            json.dumps(
                {
                    "run_id": str(summary.run_id),
                    "alerts": sent,
                    "results": [json.loads(r.model_dump_json()) for r in summary.results],
                },
                indent=2,
            )
        )
    else:
        for r in summary.results:
            org = "global" if r.organization_id == measurements.GLOBAL else str(r.organization_id)[:8]
            value = "-" if r.value is None else f"{r.value:g}"
            limit = "-" if r.threshold is None else f"{r.threshold:g}"
            print(
                f"{r.status.upper():<4}  {org:<8} {r.check:<22} {r.subject:<28} {value:>10} / {limit:<8} "
                f"{r.unit:<8} {r.message}"
            )
        print(
            f"incidents opened {sent['opened']}, resolved {sent['resolved']}, "
            f"notifications sent {sent['notifications']}"
        )
    return 1 if summary.worst == "fail" else 0


def cmd_retention_run(args: argparse.Namespace) -> int:
    from shared.monitor import retention

    report = retention.run(db.transaction)
    emit(
        report.model_dump(mode="json"),
        args.json,
        [
            f"dropped {len(report.partitions_dropped)} partition(s) "
            f"({report.rows_in_dropped_partitions} rows): {', '.join(report.partitions_dropped) or '-'}",
            f"deleted {sum(report.rows_deleted.values())} row(s) from {len(report.rows_deleted)} organization(s)",
        ],
    )
    return 0


def cmd_erase_client(args: argparse.Namespace) -> int:
    from shared.monitor import erasure

    with db.transaction() as conn:
        report = erasure.erase_client(conn, args.org, args.client, identifiers=args.identifier or [])
    emit(
        report.model_dump(mode="json"),
        args.json,
        [
            f"erased: {', '.join(f'{k} {v}' for k, v in report.counts.items())}",
            f"audit row {report.audit_id} (subject {report.subject_hash[:16]}...)",
            f"rollup windows to correct: {report.rollup_windows} "
            + ("(corrected)" if report.rollups_corrected else "(queued for the aggregation stage)"),
        ],
    )
    return 0


def register(sub: Any) -> None:
    dl = sub.add_parser("dead-letters", help="rejected events").add_subparsers(dest="dl_command", required=True)
    for name, helptext, func, limit in (
        ("list", "list dead letters, newest first", cmd_dead_letters_list, 50),
        ("replay", "send dead letters through validate again (after a fix)", cmd_dead_letters_replay, 10_000),
    ):
        p = dl.add_parser(name, help=helptext)
        p.add_argument("--org", type=_uuid, help="organization id")
        p.add_argument("--id", type=int, action="append", help="a dead letter id (repeatable)")
        p.add_argument("--source")
        p.add_argument("--stage", choices=["ingest", "validate", "aggregate"])
        p.add_argument("--reason", help="a reason type, e.g. extra_forbidden, union_tag_invalid, retry_limit")
        p.add_argument("--state", action="append", choices=["pending", "replayed", "failed", "discarded"])
        p.add_argument("--since", type=_when, help="last seen at or after (ISO 8601; UTC when no offset)")
        p.add_argument("--until", type=_when, help="last seen before (ISO 8601)")
        p.add_argument("--limit", type=_limit, default=limit, help=f"at most this many letters (1 to {MAX_LIMIT})")
        p.add_argument("--json", action="store_true")
        if name == "replay":
            p.add_argument("--all", action="store_true", help="every replayable letter matching the filters")
        p.set_defaults(func=func)

    q = sub.add_parser("quality", help="data quality checks").add_subparsers(dest="quality_command", required=True)
    qc = q.add_parser("check", help="run the checks now, store the results and alert on failures")
    qc.add_argument("--org", type=_uuid, help="only this organization (global checks too with --include-global)")
    qc.add_argument("--include-global", action="store_true")
    qc.add_argument("--json", action="store_true")
    qc.set_defaults(func=cmd_quality_check)

    r = sub.add_parser("retention", help="raw-event retention").add_subparsers(dest="retention_command", required=True)
    rr = r.add_parser("run", help="remove raw events past each organization's retention (rollups are kept)")
    rr.add_argument("--json", action="store_true")
    rr.set_defaults(func=cmd_retention_run)

    ec = sub.add_parser("erase-client", help="erase one client's events and personal data (audited)")
    ec.add_argument("--org", type=_uuid, required=True)
    ec.add_argument("--client", required=True, help="the client id as sent in events")
    ec.add_argument(
        "--identifier",
        action="append",
        help="an email or phone number of the client, to find events without the client id",
    )
    ec.add_argument("--json", action="store_true")
    ec.set_defaults(func=cmd_erase_client)
