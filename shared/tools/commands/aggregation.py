"""Aggregation commands: rebuild, reconcile, refresh, aggregate (docs/aggregation.md)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from shared.core import db
from shared.tools.commands.output import emit

# ----- aggregation: rebuild, reconcile, refresh, aggregate (docs/aggregation.md) -------------------------------


def _moment(text: str) -> datetime:
    """An ISO 8601 time with a UTC offset, or a plain date (YYYY-MM-DD), read as midnight UTC."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        if len(text) == 10:  # plain dates only; fromisoformat also takes 20261101 and week dates
            return datetime.combine(day, time(), tzinfo=UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2026-11-01, midnight UTC) or an ISO 8601 time such as 2026-11-01T00:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, such as Z or +05:45 (or give a plain date)")
    return value


def cmd_rebuild(args: argparse.Namespace) -> int:
    from shared.aggregate import recovery
    from shared.refresh import views as refresh

    with db.transaction() as conn:
        result = recovery.rebuild(conn, UUID(args.org), getattr(args, "from"), args.to)
    refresh.request(db.transaction)
    emit(
        result.model_dump(),
        args.json,
        [
            f"rebuilt {getattr(args, 'from').isoformat()} .. {args.to.isoformat()}: {result.rows_deleted} rows "
            f"replaced by {result.rows_written}, {result.clients_written} active-client entries; "
            f"data_version {result.data_version}"
        ],
    )
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from shared.aggregate import recovery

    with db.transaction() as conn:
        found = recovery.reconcile(conn, UUID(args.org), getattr(args, "from"), args.to)
    if args.json:
        print(json.dumps([m.model_dump(mode="json") for m in found], indent=2))
    else:
        for m in found:
            print(
                f"{m.kind} {m.metric or ''} {m.bucket.isoformat()} [{m.dim1}|{m.dim2}|{m.currency}] "
                f"events {m.expected_events}/{m.actual_events} amount {m.expected_amount_minor}/"
                f"{m.actual_amount_minor} (expected/actual)"
            )
        print("rollups match the raw events" if not found else f"{len(found)} mismatch(es)")
    return 0 if not found else 1


def cmd_refresh(args: argparse.Namespace) -> int:
    from shared.refresh import views as refresh

    outcome = refresh.run(db.transaction, force=args.force)
    print(outcome.model_dump_json(indent=2))
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    from shared.aggregate import aggregation

    totals, more = aggregation.drain(db.transaction)
    print(json.dumps({**vars(totals), "more": more}))
    return 0


def register(sub: Any) -> None:
    for name, func, text in (
        ("rebuild", cmd_rebuild, "rebuild an organization's rollups of a window from raw events"),
        ("reconcile", cmd_reconcile, "list differences between rollups and raw events"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--org", required=True, help="organization id")
        p.add_argument(
            "--from", required=True, type=_moment, help="start: YYYY-MM-DD (midnight UTC) or ISO 8601 with offset"
        )
        p.add_argument(
            "--to",
            required=True,
            type=_moment,
            help="end (exclusive): YYYY-MM-DD (midnight UTC) or ISO 8601 with offset",
        )
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)
    r = sub.add_parser("refresh", help="refresh the analytics materialized views if due (or --force)")
    r.add_argument("--force", action="store_true")
    r.set_defaults(func=cmd_refresh)
    sub.add_parser("aggregate", help="drain the aggregate queue once").set_defaults(func=cmd_aggregate)
