"""Core commands: migrate, up, organizations, API keys, the event catalog."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from pydantic import ValidationError

from shared.core import apikeys, db, errors, migrations, organizations
from shared.tools import runner, signin
from shared.tools import settings as tools_settings
from shared.tools.commands import demo
from shared.tools.commands.output import emit

SCHEMA_FILE = runner.ROOT / "schemas" / "events.schema.json"


def cmd_migrate(args: argparse.Namespace) -> int:
    applied = migrations.migrate(db.database_url())
    for m in applied:
        print(f"applied {m.version}_{m.name}")
    print("schema is current" if not applied else f"{len(applied)} migration(s) applied")
    return 0


def cmd_org_create(args: argparse.Namespace) -> int:
    try:
        new = organizations.NewOrganization(
            name=args.name, timezone=args.timezone, currency=args.currency, home_currency=args.home_currency
        )
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            print(f"error: --{err['loc'][0]}: {err['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    migrations.migrate(db.database_url())
    with db.transaction() as conn:
        created = organizations.create(conn, new)
    emit(
        created.model_dump(mode="json"),
        args.json,
        [
            f"organization  {created.id}",
            f"name          {created.name} ({created.timezone}, {created.currency})",
            f"home currency {created.home_currency} (money metrics are also totalled in it)",
            f"ingest key    {created.ingest_key}",
            f"read key      {created.read_key}",
            "The keys are shown once; store them now.",
        ],
    )
    return 0


def cmd_org_list(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        rows = db.fetch_all(conn, "list_organizations", None, dict_row)
    payload = [
        {
            "id": r["id"],
            "name": r["name"],
            "timezone": r["timezone"],
            "currency": r["currency"],
            "home_currency": r["home_currency"],
        }
        for r in rows
    ]
    if args.json:
        print(json.dumps(payload, default=str, indent=2))
    else:
        for r in payload:
            print(f"{r['id']}  {r['name']}  {r['timezone']}  {r['currency']}  home {r['home_currency']}")
    return 0


def cmd_home_currency(args: argparse.Namespace) -> int:
    try:
        with db.transaction() as conn:
            organizations.set_home_currency(conn, args.org, args.currency)
    except (errors.InvalidInput, errors.NotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"home currency of {args.org} is now {args.currency.upper()}")
    return 0


def cmd_key_create(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        key = apikeys.create(conn, UUID(args.org), args.scope, name=args.name)
    emit(
        {"id": key.id, "prefix": key.prefix, "key": key.key},
        args.json,
        [f"key {key.key}", "Shown once; store it now."],
    )
    return 0


def cmd_key_revoke(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        revoked = apikeys.revoke(conn, args.prefix)
    print("revoked" if revoked else "no live key with that prefix")
    return 0 if revoked else 1


def _local_org(url: str, data_dir: Path) -> dict[str, Any]:
    """The development organization of `up`, created on first run; its keys are kept in the data folder."""
    keys_file = data_dir / "local-organization.json"
    if keys_file.exists():
        kept = dict(json.loads(keys_file.read_text()))
        if not kept.get("read_key"):  # kept by an older `up`: the sign-in link needs one
            kept["read_key"] = signin.new_read_key(url, UUID(kept["id"]), "web page (up)")
            keys_file.write_text(json.dumps(kept, indent=2))
        return kept
    with db.transaction(url) as conn:
        created = organizations.create(
            conn, organizations.NewOrganization(name="Local Studio", timezone="Europe/London", currency="GBP")
        )
    payload = created.model_dump(mode="json")
    data_dir.mkdir(parents=True, exist_ok=True)
    keys_file.write_text(json.dumps(payload, indent=2))
    keys_file.chmod(0o600)
    return payload


def cmd_up(args: argparse.Namespace) -> int:

    url = db.database_url()
    for m in migrations.migrate(url):
        print(f"applied {m.version}_{m.name}")
    org = _local_org(url, Path(tools_settings.get().wedsync_data_dir))
    ports = {"ingest": args.port} if args.port else None
    pipeline = runner.start(url, ports=ports, supervise=True)
    print("WedSync Analytics is running:")
    for name, fn in pipeline.functions.items():
        trigger = pipeline.spec.functions[name].trigger
        print(f"  {name:<17} {fn.url}  ({trigger.kind}{': ' + trigger.schedule if trigger.kind == 'cron' else ''})")
    ingest = pipeline.url("ingest")
    print(f"\nLocal organization {org['id']} ({org['name']})")
    print(f"  ingest key: {org['ingest_key']}")
    print(f"  read key:   {org['read_key']}")
    print(
        f"\nThe web page (signed in as the local organization):\n  {signin.link(pipeline.url('dashboard'), org['read_key'])}"
    )
    print(
        "\nTry:\n  curl -s -X POST " + ingest + "/v1/events -H 'Content-Type: application/json' \\\n"
        f"    -H 'Authorization: Bearer {org['ingest_key']}' \\\n"
        '    -d \'{"event_id":"demo-1","type":"inquiry.received","occurred_at":"2026-11-01T10:00:00Z",'
        '"client_id":"c1","data":{"lead_source":"instagram"}}\''
    )
    if args.demo and not demo.up_demo(pipeline, ingest, url, args):
        return 130
    if args.exit_after is not None:
        threading.Event().wait(args.exit_after)
        pipeline.stop()
        return 0
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping...")
        pipeline.stop()
    return 0


def cmd_schema_export(args: argparse.Namespace) -> int:
    from shared.catalog import events

    text = json.dumps(events.json_schema(), indent=2, sort_keys=True) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def register(sub: Any) -> None:
    sub.add_parser("migrate", help="apply pending migrations").set_defaults(func=cmd_migrate)

    up = sub.add_parser("up", help="run the whole pipeline locally")
    up.add_argument("--port", type=int, help="port of the ingest function (others get free ports)")
    up.add_argument("--exit-after", type=float, help=argparse.SUPPRESS)
    up.add_argument("--demo", action="store_true", help="then send a demo year through it (see `demo`), keep running")
    demo.add_options(up)
    up.set_defaults(func=cmd_up)

    org = sub.add_parser("org", help="organizations").add_subparsers(dest="org_command", required=True)
    create = org.add_parser("create", help="create an organization and print its id and keys")
    create.add_argument("--name", required=True)
    create.add_argument("--timezone", required=True, help="IANA zone, e.g. Europe/London")
    create.add_argument("--currency", required=True, help="ISO 4217, e.g. GBP")
    create.add_argument(
        "--home-currency", help="ISO 4217: money metrics are also totalled in it (ECB rates); default: --currency"
    )
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_org_create)
    home = org.add_parser("home-currency", help="set an organization's home currency")
    home.add_argument("--org", required=True, type=UUID)
    home.add_argument("--currency", required=True, help="ISO 4217, e.g. EUR")
    home.set_defaults(func=cmd_home_currency)
    listing = org.add_parser("list", help="list organizations")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_org_list)

    key = sub.add_parser("key", help="API keys").add_subparsers(dest="key_command", required=True)
    kc = key.add_parser("create", help="mint a key for an organization")
    kc.add_argument("--org", required=True)
    kc.add_argument("--scope", action="append", choices=["ingest", "read", "admin"], required=True)
    kc.add_argument("--name", default="")
    kc.add_argument("--json", action="store_true")
    kc.set_defaults(func=cmd_key_create)
    kr = key.add_parser("revoke", help="revoke a key by its prefix (wsk_xxxxxxxx)")
    kr.add_argument("prefix")
    kr.set_defaults(func=cmd_key_revoke)

    schema = sub.add_parser("schema", help="the event catalog").add_subparsers(dest="schema_command", required=True)
    export = schema.add_parser("export", help="write the catalog as JSON Schema")
    export.add_argument("--out", default=str(SCHEMA_FILE), help="file to write, or - for stdout")
    export.set_defaults(func=cmd_schema_export)
