"""Share links: `share create`, `share list`, `share revoke` (docs/dashboard.md, "Share links")."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any
from uuid import UUID

from shared.core import db
from shared.dashboard import sharelinks
from shared.tools.commands.output import emit


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a UUID") from None


def _panels(text: str) -> list[str]:
    try:
        panels = sharelinks.check_panels([p.strip() for p in text.split(",") if p.strip()])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert panels is not None
    return panels


def _lifetime(text: str) -> str:
    try:
        lifetime = sharelinks.parse_lifetime(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if lifetime > sharelinks.MAX_LIFETIME:
        raise argparse.ArgumentTypeError(f"a share link lives at most {sharelinks.MAX_LIFETIME.days} days")
    return text


def cmd_share_create(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        created = sharelinks.create(
            conn,
            args.org,
            label=args.label,
            panels=args.panels,
            lifetime=sharelinks.parse_lifetime(args.expires_in),
            created_by=f"cli:{getpass.getuser()}",
        )
    emit(
        created.model_dump(mode="json"),
        args.json,
        [
            f"share link  {created.id}  {created.label}".rstrip(),
            f"panels      {', '.join(created.panels) if created.panels else 'all'}",
            f"expires     {created.expires_at:%Y-%m-%d %H:%M} UTC",
            f"url         {created.url}",
            f"api         {created.api_url}",
            "The link is shown once; send it now. Revoke it with: wedsync-analytics share revoke " + str(created.id),
        ],
    )
    return 0


def cmd_share_list(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        links = sharelinks.list_links(conn, args.org)
    if args.json:
        print(json.dumps([link.model_dump(mode="json") for link in links], indent=2))
        return 0
    for link in links:
        state = (
            f"revoked {link.revoked_at:%Y-%m-%d %H:%M}"
            if link.revoked_at
            else f"expires {link.expires_at:%Y-%m-%d %H:%M}"
        )
        panels = ",".join(link.panels) if link.panels else "all"
        print(f"{link.id}  {state}  panels={panels}  {link.label}".rstrip())
    return 0


def cmd_share_revoke(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        revoked = sharelinks.revoke(conn, args.id)
    if revoked is None:
        print(f"no live share link {args.id}", file=sys.stderr)
        return 1
    print(f"revoked {revoked.id}")
    return 0


def register(sub: Any) -> None:
    share = sub.add_parser("share", help="read-only share links to the dashboard").add_subparsers(
        dest="share_command", required=True
    )
    sc = share.add_parser("create", help="create a signed, expiring share link and print its URL (shown once)")
    sc.add_argument("--org", required=True, type=_uuid)
    sc.add_argument("--label", default="", help="who it is for (an accountant, a partner)")
    sc.add_argument("--expires-in", default="7d", type=_lifetime, help="30m, 12h, 7d, 2w (default 7d, at most 366d)")
    sc.add_argument(
        "--panels", type=_panels, default=None, help=f"comma-separated: {','.join(sharelinks.PANELS)} (default: all)"
    )
    sc.add_argument("--json", action="store_true")
    sc.set_defaults(func=cmd_share_create)
    sl = share.add_parser("list", help="an organization's share links, newest first")
    sl.add_argument("--org", required=True, type=_uuid)
    sl.add_argument("--json", action="store_true")
    sl.set_defaults(func=cmd_share_list)
    sr = share.add_parser("revoke", help="revoke a share link by its id")
    sr.add_argument("id", type=_uuid)
    sr.set_defaults(func=cmd_share_revoke)
