"""Business alerts: `alerts show`, `alerts set`, `alerts mute`, `alerts unmute` (docs/alerts.md)."""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from shared.core import db
from shared.monitor import alertrules


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a UUID") from None


def _alert(text: str) -> str:
    try:
        return alertrules.alert_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _alerts(text: str) -> list[str]:
    return list(alertrules.ALERTS) if text == "all" else [_alert(text)]


def _duration(text: str) -> str:
    try:
        alertrules.parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _threshold(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=VALUE, e.g. p_value=0.001")
    try:
        return name, json.loads(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the value must be a number") from None


def _who() -> str:
    return f"cli:{getpass.getuser()}"


def cmd_alerts_show(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        rules = alertrules.rules(conn, args.org, datetime.now(UTC))
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in rules], indent=2))
        return 0
    for rule in rules:
        state = f"muted until {rule.muted_until:%Y-%m-%d %H:%M} UTC" if rule.muted and rule.muted_until else "on"
        values = " ".join(f"{k}={v}{'*' if k in rule.custom else ''}" for k, v in rule.thresholds.items())
        print(f"{rule.alert:28} {state:32} {values}")
    print("(* set by the organization; the others are defaults)")
    return 0


def cmd_alerts_set(args: argparse.Namespace) -> int:
    try:
        with db.transaction() as conn:
            alertrules.set_thresholds(conn, args.org, args.alert, dict(args.threshold), by=_who(), replace=args.replace)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            print(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}")
        return 2
    return cmd_alerts_show(argparse.Namespace(org=args.org, json=False))


def cmd_alerts_mute(args: argparse.Namespace) -> int:
    until = datetime.now(UTC) + alertrules.parse_duration(args.duration)
    with db.transaction() as conn:
        alertrules.mute(conn, args.org, args.alert, until, by=_who())
    print(f"muted {', '.join(args.alert)} until {until:%Y-%m-%d %H:%M} UTC")
    return 0


def cmd_alerts_unmute(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        alertrules.mute(conn, args.org, args.alert, None, by=_who())
    print(f"unmuted {', '.join(args.alert)}")
    return 0


def register(sub: Any) -> None:
    alerts = sub.add_parser("alerts", help="business alerts: thresholds and mutes per organization").add_subparsers(
        dest="alerts_command", required=True
    )
    names = ", ".join(a.removeprefix("business.") for a in alertrules.ALERTS)
    show = alerts.add_parser("show", help="every alert's thresholds and mute for an organization")
    show.add_argument("--org", required=True, type=_uuid)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_alerts_show)
    put = alerts.add_parser("set", help="set thresholds of one alert (merged with those already set)")
    put.add_argument("--org", required=True, type=_uuid)
    put.add_argument("--alert", required=True, type=_alert, help=names)
    put.add_argument("threshold", nargs="+", type=_threshold, help="NAME=VALUE, e.g. p_value=0.001 drop_ratio=0.5")
    put.add_argument("--replace", action="store_true", help="forget thresholds set before")
    put.set_defaults(func=cmd_alerts_set)
    mute = alerts.add_parser("mute", help="silence an alert's delivery for a while (incidents are still recorded)")
    mute.add_argument("--org", required=True, type=_uuid)
    mute.add_argument("--alert", default=list(alertrules.ALERTS), type=_alerts, help=f"{names} or all (default)")
    mute.add_argument("--for", dest="duration", default="7d", type=_duration, help="30m, 12h, 7d, 2w (default 7d)")
    mute.set_defaults(func=cmd_alerts_mute)
    unmute = alerts.add_parser("unmute", help="deliver an alert again (incidents opened while muted stay unsent)")
    unmute.add_argument("--org", required=True, type=_uuid)
    unmute.add_argument("--alert", default=list(alertrules.ALERTS), type=_alerts, help=f"{names} or all (default)")
    unmute.set_defaults(func=cmd_alerts_unmute)
