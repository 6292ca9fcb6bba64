"""`wedsync-analytics`, the operator's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shared.core import db
from shared.tools.commands import (
    aggregation,
    alerts,
    core,
    demo,
    deploy,
    exchange,
    exports,
    quality,
    reports,
    sharing,
    sources,
)

SCHEMA_FILE = core.SCHEMA_FILE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wedsync-analytics", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for topic in (core, sources, aggregation, quality, alerts, reports, sharing, deploy, demo, exchange, exports):
        topic.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Its transactions use the operator's statement limit (CLI_STATEMENT_TIMEOUT_MS, none by
    default), not the functions' one: rebuilds, retention runs and backfills are long on purpose."""
    args = build_parser().parse_args(argv)
    with db.operator_timeouts():
        return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
