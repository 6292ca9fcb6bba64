"""How long a monitor run (every check, every organization), a retention run and an erasure take on a
database with five weeks of events. Prints the figures for BENCHMARKS.md and writes them, with commit, date and
machine, as JSON (bench/results/, or --json PATH).

    .venv/bin/python bench/quality_run.py --server postgresql://postgres@127.0.0.1:5432/postgres \
        [--orgs 50] [--events-per-org 4000]

It creates a throwaway database on that server (dropped at the end); it never restarts anything.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record, scratch
from shared.core import db
from shared.monitor import erasure, quality, retention

_FILL = """
insert into analytics_event_keys (organization_id, event_id, occurred_at)
select o.id, o.id::text || '-' || g, now() - (g * interval '13 minutes')
from organizations o, generate_series(1, %(n)s) g;

insert into analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at, received_at,
  stored_at, source, client_id, properties)
select k.id, k.organization_id, k.event_id,
       (array['inquiry.received', 'payment.succeeded', 'email.opened', 'app.action'])[1 + k.id %% 4], 1,
       k.occurred_at, k.occurred_at, k.occurred_at,
       (array['api', 'stripe', 'mailgun'])[1 + k.id %% 3], 'client-' || (k.id %% 500),
       jsonb_build_object('email', 'pii:' || md5(k.id::text)::text)
from analytics_event_keys k;

insert into analytics_source_stats (organization_id, source, bucket, received, stored, rejected, duplicates)
select organization_id, source, date_trunc('hour', stored_at), count(*), count(*), count(*) / 20, count(*) / 10
from analytics_events group by 1, 2, 3;

insert into analytics_dead_letters (organization_id, source, stage, event_id, event_type, payload, reasons,
  fingerprint, first_seen_at, last_seen_at)
select o.id, 'stripe', 'ingest', 'bad-' || g, 'payment.succeeded',
       jsonb_build_object('event_id', 'bad-' || g, 'client_id', 'client-' || g, 'surprise', g),
       '[{"loc": ["surprise"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}]',
       decode(md5(o.id::text || g), 'hex'), now() - g * interval '1 hour', now() - g * interval '1 hour'
from organizations o, generate_series(1, 40) g;
analyze;
"""


def _timed(fn: object, repeat: int) -> list[float]:
    took = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        took.append(time.perf_counter() - start)
    return took


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="admin URL of a PostgreSQL server")
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--events-per-org", type=int, default=4000)
    record.add_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = record.start()
    with scratch.database(args.server, "quality") as url:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(
                "insert into organizations (name, timezone, currency) "
                "select 'Org ' || g, 'Europe/London', 'GBP' from generate_series(1, %s) g",
                (args.orgs,),
            )
            start = time.perf_counter()
            for statement in _FILL.split(";\n"):
                if statement.strip():
                    c.execute(statement, {"n": args.events_per_org})
            fill = time.perf_counter() - start
            row = c.execute("select count(*) from analytics_events").fetchone()
            assert row is not None
            events = row[0]
            row = c.execute("select id from organizations order by id limit 1").fetchone()
            assert row is not None
            some_org = row[0]
        runs = _timed(lambda: quality.run(db.transaction), 3)
        summary = quality.run(db.transaction)
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("update organizations set settings = '{\"retention_days\": 14}' where name like 'Org 1%'")
        retention_took = _timed(lambda: retention.run(db.transaction), 1)[0]

        def erase() -> None:
            with db.transaction() as conn:
                erasure.erase_client(conn, some_org, "client-7")

        erase_took = _timed(erase, 1)[0]
        print(
            f"organizations {args.orgs}, events {events} (filled in {fill:.1f} s), "
            f"results per run {len(summary.results)}"
        )
        print(
            f"monitor run (all checks, all orgs): median {statistics.median(runs):.2f} s "
            f"(runs {', '.join(f'{r:.2f}' for r in runs)})"
        )
        print(f"retention run (orgs 'Org 1%' at 14 days): {retention_took:.2f} s")
        print(f"erasure of one client: {erase_took:.2f} s")
        record.write(
            "quality_run",
            args,
            {
                "organizations": args.orgs,
                "events": events,
                "fill_seconds": fill,
                "results_per_run": len(summary.results),
                "monitor_run_seconds": {"median": statistics.median(runs), "runs": runs},
                "retention_run_seconds": retention_took,
                "erasure_seconds": erase_took,
            },
            database_url=args.server,
            started=started,
            path=args.json,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
