"""`wedsync-analytics`, the operator's command line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from shared import apikeys, db, migrations, organizations, queries, runner

SCHEMA_FILE = runner.ROOT / "schemas" / "events.schema.json"


def _print(payload: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        print(json.dumps(payload, default=str, indent=2))
    else:
        print("\n".join(lines))


def cmd_migrate(args: argparse.Namespace) -> int:
    applied = migrations.migrate(db.database_url())
    for m in applied:
        print(f"applied {m.version}_{m.name}")
    print("schema is current" if not applied else f"{len(applied)} migration(s) applied")
    return 0


def cmd_org_create(args: argparse.Namespace) -> int:
    try:
        new = organizations.NewOrganization(name=args.name, timezone=args.timezone, currency=args.currency)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            print(f"error: --{err['loc'][0]}: {err['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    migrations.migrate(db.database_url())
    with db.transaction() as conn:
        created = organizations.create(conn, new)
    _print(
        created.model_dump(mode="json"),
        args.json,
        [
            f"organization  {created.id}",
            f"name          {created.name} ({created.timezone}, {created.currency})",
            f"ingest key    {created.ingest_key}",
            f"read key      {created.read_key}",
            "The keys are shown once; store them now.",
        ],
    )
    return 0


def cmd_org_list(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        rows = conn.execute(queries.get("list_organizations")).fetchall()
    payload = [{"id": r[0], "name": r[1], "timezone": r[2], "currency": r[3]} for r in rows]
    if args.json:
        print(json.dumps(payload, default=str, indent=2))
    else:
        for r in payload:
            print(f"{r['id']}  {r['name']}  {r['timezone']}  {r['currency']}")
    return 0


def cmd_key_create(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        key = apikeys.create(conn, UUID(args.org), args.scope, name=args.name)
    _print(
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
        return dict(json.loads(keys_file.read_text()))
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
    from shared import settings

    url = db.database_url()
    for m in migrations.migrate(url):
        print(f"applied {m.version}_{m.name}")
    org = _local_org(url, Path(settings.get_settings().wedsync_data_dir))
    ports = {"ingest": args.port} if args.port else None
    pipeline = runner.start(url, ports=ports)
    print("WedSync Analytics is running:")
    for name, fn in pipeline.functions.items():
        print(f"  {name:<10} {fn.url}  ({fn.spec.trigger.kind})")
    ingest = pipeline.url("ingest")
    print(f"\nLocal organization {org['id']} ({org['name']})")
    print(f"  ingest key: {org['ingest_key']}")
    print(f"  read key:   {org['read_key']}")
    print(
        "\nTry:\n  curl -s -X POST " + ingest + "/v1/events -H 'Content-Type: application/json' \\\n"
        f"    -H 'Authorization: Bearer {org['ingest_key']}' \\\n"
        '    -d \'{"event_id":"demo-1","type":"inquiry.received","occurred_at":"2026-11-01T10:00:00Z",'
        '"client_id":"c1","data":{"lead_source":"instagram"}}\''
    )
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


def cmd_dead_letters_list(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        rows = conn.execute(
            queries.get("list_dead_letters"), {"organization_id": UUID(args.org), "limit": args.limit}
        ).fetchall()
    cols = [
        "id",
        "organization_id",
        "source",
        "stage",
        "event_id",
        "event_type",
        "payload",
        "reasons",
        "first_seen_at",
        "last_seen_at",
        "attempts",
        "replay_state",
    ]
    items = [dict(zip(cols, r, strict=True)) for r in rows]
    if args.json:
        print(json.dumps(items, default=str, indent=2))
    else:
        for item in items:
            reasons = "; ".join(f"{'.'.join(map(str, r['loc']))}: {r['msg']}" for r in item["reasons"])
            print(f"{item['id']}  {item['stage']:<8} {item['source']:<10} {item['event_id'] or '-'}  {reasons}")
    return 0


def cmd_schema_export(args: argparse.Namespace) -> int:
    from shared import events

    text = json.dumps(events.json_schema(), indent=2, sort_keys=True) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


# ----- webhook sources (shared/webhooks.py) ---------------------------------------------------------------------


def cmd_source_add(args: argparse.Namespace) -> int:
    from shared import webhooks

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
    _print({**new.source.model_dump(mode="json"), "secret": new.secret}, args.json, lines)
    return 0


def cmd_source_list(args: argparse.Namespace) -> int:
    from shared import webhooks

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

    from shared import webhooks

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
    _print({"source": args.source, "previous_valid_until": until, "secret": generated}, args.json, lines)
    return 0


def _add_source_commands(sub: Any) -> None:
    from shared import providers

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
# --- deploy: check deploy.yaml, build the per-function bundles and the Supabase wiring -------------------------


def cmd_deploy_check(args: argparse.Namespace) -> int:
    from shared import deployment

    try:
        spec = deployment.load(Path(args.file))
    except deployment.DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, fn in spec.functions.items():
        print(f"ok  {name:<12} {fn.trigger.kind:<6} {fn.source}:{fn.entry_point}")
    return 0


def cmd_deploy_plan(args: argparse.Namespace) -> int:
    from shared import bundles, deployment

    try:
        spec = deployment.load(Path(args.file))
        built, sql_path = bundles.plan(spec, Path(args.out), only=args.function, root=Path(args.file).parent)
    except (deployment.DeployError, bundles.BundleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for bundle in built:
        print(f"bundle  {bundle.path}/  ->  bash {bundle.path}/deploy.sh")
    print(f"wiring  {sql_path}  (apply after the migrations; see docs/deploy.md)")
    return 0


def _add_deploy_commands(sub: Any) -> None:
    from shared import deployment

    deploy = sub.add_parser("deploy", help="ship functions to Google Cloud and wire Supabase to them")
    dsub = deploy.add_subparsers(dest="deploy_command", required=True)
    check = dsub.add_parser("check", help="check deploy.yaml; every problem names the function and field")
    check.add_argument("--file", default=str(deployment.DEPLOY_FILE), help=argparse.SUPPRESS)
    check.set_defaults(func=cmd_deploy_check)
    plan = dsub.add_parser("plan", help="write each function's bundle + deploy.sh and supabase/wiring.sql")
    plan.add_argument("--function", help="build only this function's bundle (wiring.sql always covers all)")
    plan.add_argument("--out", default="dist", help="output directory (default: dist)")
    plan.add_argument("--file", default=str(deployment.DEPLOY_FILE), help=argparse.SUPPRESS)
    plan.set_defaults(func=cmd_deploy_plan)


# --- end deploy -------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wedsync-analytics", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply pending migrations").set_defaults(func=cmd_migrate)

    up = sub.add_parser("up", help="run the whole pipeline locally")
    up.add_argument("--port", type=int, help="port of the ingest function (others get free ports)")
    up.add_argument("--exit-after", type=float, help=argparse.SUPPRESS)
    up.set_defaults(func=cmd_up)

    org = sub.add_parser("org", help="organizations").add_subparsers(dest="org_command", required=True)
    create = org.add_parser("create", help="create an organization and print its id and keys")
    create.add_argument("--name", required=True)
    create.add_argument("--timezone", required=True, help="IANA zone, e.g. Europe/London")
    create.add_argument("--currency", required=True, help="ISO 4217, e.g. GBP")
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_org_create)
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

    dl = sub.add_parser("dead-letters", help="rejected events").add_subparsers(dest="dl_command", required=True)
    dll = dl.add_parser("list", help="list an organization's dead letters, newest first")
    dll.add_argument("--org", required=True)
    dll.add_argument("--limit", type=int, default=50)
    dll.add_argument("--json", action="store_true")
    dll.set_defaults(func=cmd_dead_letters_list)

    schema = sub.add_parser("schema", help="the event catalog").add_subparsers(dest="schema_command", required=True)
    export = schema.add_parser("export", help="write the catalog as JSON Schema")
    export.add_argument("--out", default=str(SCHEMA_FILE), help="file to write, or - for stdout")
    export.set_defaults(func=cmd_schema_export)
    _add_source_commands(sub)
    _add_aggregation_commands(sub)
    _add_deploy_commands(sub)
    _add_report_commands(sub)
    return parser


# ----- aggregation: rebuild, reconcile, refresh, aggregate (docs/aggregation.md) -------------------------------


def _moment(text: str) -> Any:
    from datetime import datetime

    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time such as 2026-11-01T00:00:00Z") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, such as Z or +05:45")
    return value


def cmd_rebuild(args: argparse.Namespace) -> int:
    from shared import recovery, refresh

    with db.transaction() as conn:
        result = recovery.rebuild(conn, UUID(args.org), getattr(args, "from"), args.to)
    refresh.request(db.transaction)
    _print(result.model_dump(), args.json, [
        f"rebuilt {getattr(args, 'from').isoformat()} .. {args.to.isoformat()}: {result.rows_deleted} rows "
        f"replaced by {result.rows_written}, {result.clients_written} active-client entries; "
        f"data_version {result.data_version}"])
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from shared import recovery

    with db.transaction() as conn:
        found = recovery.reconcile(conn, UUID(args.org), getattr(args, "from"), args.to)
    if args.json:
        print(json.dumps([m.model_dump(mode="json") for m in found], indent=2))
    else:
        for m in found:
            print(f"{m.kind} {m.metric or ''} {m.bucket.isoformat()} [{m.dim1}|{m.dim2}|{m.currency}] "
                  f"events {m.expected_events}/{m.actual_events} amount {m.expected_amount_minor}/"
                  f"{m.actual_amount_minor} (expected/actual)")
        print("rollups match the raw events" if not found else f"{len(found)} mismatch(es)")
    return 0 if not found else 1


def cmd_refresh(args: argparse.Namespace) -> int:
    from shared import refresh

    outcome = refresh.run(db.transaction, force=args.force)
    print(outcome.model_dump_json(indent=2))
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    from shared import aggregation

    totals, more = aggregation.drain(db.transaction)
    print(json.dumps({**vars(totals), "more": more}))
    return 0


def _add_aggregation_commands(sub: Any) -> None:
    for name, func, text in (("rebuild", cmd_rebuild, "rebuild an organization's rollups of a window from raw events"),
                             ("reconcile", cmd_reconcile, "list differences between rollups and raw events")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--org", required=True, help="organization id")
        p.add_argument("--from", required=True, type=_moment, help="start, ISO 8601 with offset")
        p.add_argument("--to", required=True, type=_moment, help="end (exclusive), ISO 8601 with offset")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)
    r = sub.add_parser("refresh", help="refresh the analytics materialized views if due (or --force)")
    r.add_argument("--force", action="store_true")
    r.set_defaults(func=cmd_refresh)
    sub.add_parser("aggregate", help="drain the aggregate queue once").set_defaults(func=cmd_aggregate)


# ----- reports: generate, regenerate, backfill, list, run the schedule (docs/reports.md) ------------------------


def _day(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-01-31") from None


def _report_line(rec: Any) -> str:
    files = ", ".join(f"{fmt} {meta['bytes']:,} B sha256 {meta['sha256'][:12]}"
                      for fmt, meta in sorted(rec.files.items()))
    problem = rec.last_error or rec.generation_error
    error = f"; last error: {problem}" if problem else ""
    return (f"{rec.kind} {rec.period_start}..{rec.period_end} ({rec.timezone}) {rec.id}: {rec.status}, delivery "
            f"{rec.delivery_status} after {rec.delivery_attempts} attempt(s); {files}{error}")


def cmd_report(args: argparse.Namespace) -> int:
    from shared import errors, reports
    from shared.reports import config, delivery, periods

    try:
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
            _print({"reports": [r.model_dump(mode="json") for r in found]}, args.json,
                   [f"{r.kind:8} {r.period_start} {r.status:10} delivery {r.delivery_status:13} {r.id} "
                    f"{r.title or ''}" for r in found] or ["no reports"])
            return 0
        with db.transaction() as conn:
            row = conn.execute(queries.get("report_organization"), {"organization_id": org_id}).fetchone()
        if row is None:
            raise errors.NotFound(f"organization {org_id} does not exist")
        cfg = config.from_settings(row[4])
        if args.period:
            kind: periods.Kind | None = args.kind or (
                "weekly" if "W" in args.period.upper() else "monthly" if args.period.count("-") == 1 else None)
            if kind is None:
                raise errors.InvalidInput("--kind weekly|monthly is needed with a YYYY-MM-DD period")
            period = periods.parse(kind, args.period.upper() if "w" in args.period else args.period, cfg.week_start)
            records = [reports.generate(db.transaction, org_id, period.kind, period.start, deliver=not args.no_deliver,
                                        regenerate=args.regenerate)]
        elif args.from_date and args.to_date and args.kind:
            records = reports.backfill(org_id, args.kind, args.from_date, args.to_date, deliver=not args.no_deliver,
                                       regenerate=args.regenerate)
        else:
            raise errors.InvalidInput("give --period, or --kind with --from and --to (backfill), or --list, --due")
        _print({"reports": [r.model_dump(mode="json") for r in records]}, args.json,
               [_report_line(r) for r in records] or ["no closed period in that range"])
        return 0 if all(r.status == "stored" for r in records) else 1
    except (errors.InvalidInput, errors.NotFound, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _add_report_commands(sub: Any) -> None:
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
    r.add_argument("--due", action="store_true", help="run what the hourly schedule runs, now")
    r.add_argument("--webhook-secret", action="store_true", help="print the organization's webhook signing secret")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_report)


# ----- end reports ------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
