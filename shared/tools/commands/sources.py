"""Webhook source commands: add, list, rotate-secret (shared/ingest/webhooks.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from shared.core import db
from shared.tools.commands.output import emit

# ----- webhook sources (shared/ingest/webhooks.py) ---------------------------------------------------------------------


def cmd_source_add(args: argparse.Namespace) -> int:
    from shared.ingest import webhooks

    try:
        options = webhooks.SourceSettings(inquiry_forms=args.inquiry_form or [], lead_source=args.lead_source)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            print(
                f"error: --{str(err['loc'][0]).replace('_', '-')}: {err['msg'].removeprefix('Value error, ')}",
                file=sys.stderr,
            )
        return 2
    try:
        with db.transaction() as conn:
            new = webhooks.create(
                conn, UUID(args.org), args.provider, secret=args.secret, name=args.name, options=options
            )
    except webhooks.InvalidSecret as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lines = [f"source     {new.source.id} ({new.source.provider})", f"endpoint   POST {new.source.endpoint}"]
    if new.secret is not None and new.source.provider == "postmark":
        scheme, _, rest = new.source.endpoint.partition("://")
        lines += [f"secret     {new.secret}", f"Paste into Postmark (shown once): {scheme}://{new.secret}@{rest}"]
    elif new.secret is not None:
        lines += [f"secret     {new.secret}", "The secret is shown once; paste it into the provider now."]
    else:
        lines.append("The secret you gave is stored encrypted and will not be shown again.")
    emit({**new.source.model_dump(mode="json"), "secret": new.secret}, args.json, lines)
    return 0


def cmd_source_list(args: argparse.Namespace) -> int:
    from shared.ingest import webhooks

    with db.transaction() as conn:
        sources = webhooks.list_(conn, UUID(args.org))
    if args.json:
        print(json.dumps([s.model_dump(mode="json") for s in sources], indent=2))
    else:
        for s in sources:
            rotating = (
                f"  (old secret valid until {s.previous_secret_expires_at:%Y-%m-%d %H:%M}Z)"
                if (s.previous_secret_expires_at)
                else ""
            )
            print(f"{s.id}  {s.provider:<9} {s.name or '-'}  {s.endpoint}{rotating}")
    return 0


def cmd_source_rotate(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from shared.ingest import webhooks

    try:
        with db.transaction() as conn:
            window = timedelta(hours=args.window_hours) if args.window_hours is not None else None
            until, generated = webhooks.rotate_secret(conn, UUID(args.source), secret=args.secret, window=window)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except webhooks.InvalidSecret as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lines = [f"new secret is current; the previous one is accepted until {until:%Y-%m-%d %H:%M:%S}Z"]
    if generated is not None:
        lines.insert(0, f"secret     {generated}  (shown once)")
    emit({"source": args.source, "previous_valid_until": until, "secret": generated}, args.json, lines)
    return 0


def register(sub: Any) -> None:
    from shared.ingest import providers

    src = sub.add_parser("source", help="webhook sources (Stripe, Resend, SendGrid, Postmark, Typeform, forms)")
    cmds = src.add_subparsers(dest="source_command", required=True)
    add = cmds.add_parser("add", help="register a provider account; prints its webhook URL")
    add.add_argument("--org", required=True)
    add.add_argument("--provider", required=True, choices=providers.PROVIDERS)
    add.add_argument(
        "--secret",
        help="the provider's signing secret / public key (generated when omitted, for typeform, form and postmark)",
    )
    add.add_argument("--name", default="")
    add.add_argument(
        "--inquiry-form",
        action="append",
        metavar="FORM_ID",
        help="forms whose submissions are inquiries ('*' for all); repeatable",
    )
    add.add_argument("--lead-source", help="lead source of inquiries when the form does not say")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_source_add)
    listing = cmds.add_parser("list", help="list an organization's sources (never their secrets)")
    listing.add_argument("--org", required=True)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_source_list)
    rot = cmds.add_parser("rotate-secret", help="replace a source's secret; the old one stays valid for a window")
    rot.add_argument("--source", required=True)
    rot.add_argument("--secret", help="the new secret (generated when omitted, where we choose it)")
    rot.add_argument(
        "--window-hours",
        type=float,
        help="how long the old secret stays valid (default WEBHOOK_ROTATION_WINDOW_HOURS, 24)",
    )
    rot.add_argument("--json", action="store_true")
    rot.set_defaults(func=cmd_source_rotate)
