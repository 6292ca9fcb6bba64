"""The demo: a realistic year of a wedding business sent through the running pipeline (docs/demo.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from uuid import UUID

from shared.core import db, migrations
from shared.tools import runner, signin


def _day(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-11-25") from None


def add_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("demo")
    group.add_argument("--seed", type=int, default=1, help="the same seed and end day give the same year (default 1)")
    group.add_argument(
        "--months",
        type=int,
        default=12,
        choices=range(1, 37),
        metavar="1..36",
        help="how many months, ending yesterday (default 12)",
    )
    group.add_argument("--end-day", type=_day, help="the day after the demo's last day (default: today)")
    group.add_argument("--org", help="send into this organization instead of the demo's own")


def _demo_against(
    ingest_url: str, database_url: str, args: argparse.Namespace, sent_to: list[UUID] | None = None
) -> int:
    """Run the demo; `sent_to` receives the organization it sent into."""
    from shared.tools.demo import run

    try:
        outcome = run.run(
            ingest_url,
            seed=args.seed,
            months=args.months,
            end_day=args.end_day,
            org_id=UUID(args.org) if args.org else None,
            database_url=database_url,
        )
    except (ValueError, LookupError) as exc:  # a future --end-day, a malformed or unknown --org
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # an endpoint refused or kept failing: nothing more was sent
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if sent_to is not None:
        sent_to.append(outcome.organization.id)
    return 0 if outcome.counted and not outcome.sent.rejected else 1


def up_demo(pipeline: runner.Pipeline, ingest_url: str, database_url: str, args: argparse.Namespace) -> bool:
    """The demo inside `up`: a failure is reported and the pipeline keeps running; Ctrl-C stops everything
    (False)."""
    sent_to: list[UUID] = []
    try:
        _demo_against(ingest_url, database_url, args, sent_to)
        for org_id in sent_to:
            key = signin.new_read_key(database_url, org_id, "web page (up --demo)")
            print(
                f"\nThe web page (signed in as the demo organization):\n  {signin.link(pipeline.url('dashboard'), key)}"
            )
    except KeyboardInterrupt:
        print("\nstopping...")
        pipeline.stop()
        return False
    except Exception as exc:  # the pipeline is still fine: say what failed and keep serving
        print(f"demo failed: {exc}", file=sys.stderr)
    print("\nThe pipeline keeps running (Ctrl-C stops it).")
    return True


def cmd_demo(args: argparse.Namespace) -> int:
    url = db.database_url()
    for m in migrations.migrate(url):
        print(f"applied {m.version}_{m.name}")
    if args.url:
        return _demo_against(args.url, url, args)
    pipeline = runner.start(url)
    try:
        return _demo_against(pipeline.url("ingest"), url, args)
    finally:
        pipeline.stop()


def register(sub: Any) -> None:
    demo = sub.add_parser("demo", help="send a realistic year of a wedding business through the pipeline")
    demo.add_argument("--url", help="ingest URL of a running pipeline on this DATABASE_URL (default: start one)")
    add_options(demo)
    demo.set_defaults(func=cmd_demo)
