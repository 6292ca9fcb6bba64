"""`wedsync-analytics`, the operator's command line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from shared import apikeys, db, migrations, organizations, queries, runner


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
    _print(created.model_dump(mode="json"), args.json, [
        f"organization  {created.id}",
        f"name          {created.name} ({created.timezone}, {created.currency})",
        f"ingest key    {created.ingest_key}",
        f"read key      {created.read_key}",
        "The keys are shown once; store them now.",
    ])
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
    _print({"id": key.id, "prefix": key.prefix, "key": key.key}, args.json,
           [f"key {key.key}", "Shown once; store it now."])
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
        created = organizations.create(conn, organizations.NewOrganization(
            name="Local Studio", timezone="Europe/London", currency="GBP"))
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
    print("\nTry:\n  curl -s -X POST " + ingest + "/v1/events -H 'Content-Type: application/json' \\\n"
          f"    -H 'Authorization: Bearer {org['ingest_key']}' \\\n"
          "    -d '{\"event_id\":\"demo-1\",\"type\":\"inquiry.received\",\"occurred_at\":\"2026-11-01T10:00:00Z\","
          "\"client_id\":\"c1\",\"data\":{\"lead_source\":\"instagram\"}}'")
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

    add_quality_commands(sub)
    return parser


# --- data quality: checks, dead-letter replay, retention, erasure (docs/quality.md) -------------------------

def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, such as 2026-11-24T09:00 or 2026-11-24T09:00+01:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an organization id (a UUID)") from None


def _letter_filter(args: argparse.Namespace, limit: int) -> Any:
    from shared import replay

    return replay.LetterFilter(
        organization_id=args.org, ids=args.id or None, source=args.source, stage=args.stage,
        reason=args.reason, states=args.state or None, since=args.since, until=args.until, limit=limit)


def cmd_dead_letters_list(args: argparse.Namespace) -> int:
    from shared import replay

    with db.transaction() as conn:
        letters = replay.list_letters(conn, _letter_filter(args, args.limit))
    if args.json:
        print(json.dumps([json.loads(x.model_dump_json()) for x in letters], indent=2))
    else:
        for item in letters:
            reasons = "; ".join(f"{'.'.join(map(str, r['loc']))}: {r['msg']}" for r in item.reasons)
            print(f"{item.id}  {item.stage:<8} {item.source:<10} {item.replay_state:<8} x{item.attempts} "
                  f"{item.event_id or '-'}  {reasons}")
    return 0


def cmd_dead_letters_replay(args: argparse.Namespace) -> int:
    from shared import replay

    if not (args.org or args.id or args.source or args.reason or args.all):
        print("error: choose letters with --org, --id, --source or --reason (or --all for every replayable one)",
              file=sys.stderr)
        return 2
    with db.transaction() as conn:
        result = replay.replay(conn, _letter_filter(args, args.limit))
    _print(result.model_dump(mode="json"), args.json, [
        f"replayed {result.replayed} dead letter(s) in {result.messages} message(s) on the ingest queue"
        + (f"; {result.skipped} skipped (locked, aggregate-stage or not an event)" if result.skipped else ""),
        "The validate stage stores what now passes; what still fails comes back as 'failed' with new reasons."])
    return 0


def cmd_quality_check(args: argparse.Namespace) -> int:
    from shared import alerts, quality

    summary = quality.run(db.transaction, organization_id=args.org,
                          include_global=not args.org or args.include_global)
    if summary.skipped:
        print("another check run is in progress; try again in a moment", file=sys.stderr)
        return 3
    sent = alerts.process(db.transaction, summary)
    if args.json:
        print(json.dumps({"run_id": str(summary.run_id), "alerts": sent,
                          "results": [json.loads(r.model_dump_json()) for r in summary.results]}, indent=2))
    else:
        for r in summary.results:
            org = "global" if r.organization_id == quality.GLOBAL else str(r.organization_id)[:8]
            value = "-" if r.value is None else f"{r.value:g}"
            limit = "-" if r.threshold is None else f"{r.threshold:g}"
            print(f"{r.status.upper():<4}  {org:<8} {r.check:<22} {r.subject:<28} {value:>10} / {limit:<8} "
                  f"{r.unit:<8} {r.message}")
        print(f"incidents opened {sent['opened']}, resolved {sent['resolved']}, "
              f"notifications sent {sent['notifications']}")
    return 1 if summary.worst == "fail" else 0


def cmd_retention_run(args: argparse.Namespace) -> int:
    from shared import retention

    report = retention.run(db.transaction)
    _print(report.model_dump(mode="json"), args.json, [
        f"dropped {len(report.partitions_dropped)} partition(s) "
        f"({report.rows_in_dropped_partitions} rows): {', '.join(report.partitions_dropped) or '-'}",
        f"deleted {sum(report.rows_deleted.values())} row(s) from {len(report.rows_deleted)} organization(s)"])
    return 0


def cmd_erase_client(args: argparse.Namespace) -> int:
    from shared import erasure

    with db.transaction() as conn:
        report = erasure.erase_client(conn, args.org, args.client, identifiers=args.identifier or [])
    _print(report.model_dump(mode="json"), args.json, [
        f"erased: {', '.join(f'{k} {v}' for k, v in report.counts.items())}",
        f"audit row {report.audit_id} (subject {report.subject_hash[:16]}...)",
        f"rollup windows to correct: {report.rollup_windows} "
        + ("(corrected)" if report.rollups_corrected else "(queued for the aggregation stage)")])
    return 0


def add_quality_commands(sub: Any) -> None:
    dl = sub.add_parser("dead-letters", help="rejected events").add_subparsers(dest="dl_command", required=True)
    for name, helptext, func, limit in (
            ("list", "list dead letters, newest first", cmd_dead_letters_list, 50),
            ("replay", "send dead letters through validate again (after a fix)", cmd_dead_letters_replay, 10_000)):
        p = dl.add_parser(name, help=helptext)
        p.add_argument("--org", type=_uuid, help="organization id")
        p.add_argument("--id", type=int, action="append", help="a dead letter id (repeatable)")
        p.add_argument("--source")
        p.add_argument("--stage", choices=["ingest", "validate", "aggregate"])
        p.add_argument("--reason", help="a reason type, e.g. extra_forbidden, union_tag_invalid, retry_limit")
        p.add_argument("--state", action="append", choices=["pending", "replayed", "failed", "discarded"])
        p.add_argument("--since", type=_when, help="last seen at or after (ISO 8601; UTC when no offset)")
        p.add_argument("--until", type=_when, help="last seen before (ISO 8601)")
        p.add_argument("--limit", type=int, default=limit)
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

    r = sub.add_parser("retention", help="raw-event retention").add_subparsers(dest="retention_command",
                                                                             required=True)
    rr = r.add_parser("run", help="remove raw events past each organization's retention (rollups are kept)")
    rr.add_argument("--json", action="store_true")
    rr.set_defaults(func=cmd_retention_run)

    ec = sub.add_parser("erase-client", help="erase one client's events and personal data (audited)")
    ec.add_argument("--org", type=_uuid, required=True)
    ec.add_argument("--client", required=True, help="the client id as sent in events")
    ec.add_argument("--identifier", action="append",
                    help="an email or phone number of the client, to find events without the client id")
    ec.add_argument("--json", action="store_true")
    ec.set_defaults(func=cmd_erase_client)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
