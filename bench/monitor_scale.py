"""How long one monitor run (every check over every organization, the business alerts, the global checks, then
incidents and notifications: what the monitor function's POST / runs) takes with 10,000 organizations:
generated intake counters, events in the hours volume compares, rollups made by the aggregation function itself
from those events, a year of daily inquiry and payment rollups and some reviews for the business alerts, and
dead letters; not 10,000 real pipelines. Prints the figures for
BENCHMARKS.md and writes them as JSON (bench/results/, or --json PATH).

    .venv/bin/python bench/monitor_scale.py --server postgresql://postgres@127.0.0.1:5432/postgres \
        [--orgs 10000] [--runs 2]

It creates a throwaway database on that server (dropped at the end, or kept with --keep); it never restarts
anything. `--database NAME` measures a kept database again without filling it, and `--only a,b` times just
those checks (no full runs), so one change is re-measured in seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record, scratch
from shared.core import db, settings
from shared.monitor import alerts, business, checks, quality, reconciliation

# Per organization: two sources active every other hour for four days (the freshness rhythm), three events in
# the last complete hour and in the same hour of each of the four previous weeks (volume), ten more over the
# reconciliation week, and two dead letters.
_FILL = """
insert into organizations (name, timezone, currency)
select 'Org ' || g, (array['Europe/London', 'America/New_York', 'Australia/Sydney', 'UTC'])[1 + g %% 4], 'GBP'
from generate_series(1, %(orgs)s) g;

insert into analytics_source_stats (organization_id, source, bucket, received, stored, rejected, duplicates)
select o.id, s, date_trunc('hour', now()) - h * interval '2 hours', 12, 10, 1, 1
from organizations o, unnest(array['api', 'stripe']) s, generate_series(0, 47) h;

insert into analytics_event_keys (organization_id, event_id, occurred_at)
select o.id, o.id::text || '-w' || w || '-' || n,
       date_trunc('hour', now()) - interval '1 hour' - w * interval '1 week' + n * interval '7 minutes'
from organizations o, generate_series(0, 4) w, generate_series(1, 3) n;

insert into analytics_event_keys (organization_id, event_id, occurred_at)
select o.id, o.id::text || '-d' || n, now() - n * interval '15 hours'
from organizations o, generate_series(1, 10) n;

insert into analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at, received_at,
  stored_at, source, client_id)
select k.id, k.organization_id, k.event_id, 'app.action', 1, k.occurred_at, k.occurred_at, k.occurred_at,
       (array['api', 'stripe'])[1 + k.id %% 2], 'client-' || (k.id %% 7)
from analytics_event_keys k where k.event_id not like '%%-r%%';

insert into analytics_dead_letters (organization_id, source, stage, event_id, event_type, payload, reasons,
  fingerprint, first_seen_at, last_seen_at)
select o.id, 'stripe', 'ingest', 'bad-' || g, 'payment.succeeded', jsonb_build_object('surprise', g),
       '[{"loc": ["surprise"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}]',
       decode(md5(o.id::text || g), 'hex'), now() - g * interval '1 hour', now() - g * interval '1 hour'
from organizations o, generate_series(1, 2) g;

insert into analytics_rollups_daily (organization_id, metric, day, events)
select o.id, 'inquiry.received', current_date - d, 1 + (d + abs(hashtext(o.id::text))) %% 4
from organizations o, generate_series(1, 420, 2) d;

insert into analytics_rollups_daily (organization_id, metric, day, events)
select o.id, m, current_date - d, case when m = 'payment.failed' then d %% 2 else 3 end
from organizations o, unnest(array['payment.succeeded', 'payment.failed']) m, generate_series(1, 120, 3) d;

insert into analytics_event_keys (organization_id, event_id, occurred_at)
select o.id, o.id::text || '-r' || n, now() - n * interval '9 days'
from organizations o, generate_series(1, 6) n;

insert into analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at, received_at,
  stored_at, source, client_id, properties)
select k.id, k.organization_id, k.event_id, 'review.received', 1, k.occurred_at, k.occurred_at, k.occurred_at,
       'api', 'client-' || (k.id %% 7), jsonb_build_object('review_id', k.event_id, 'rating', 3 + k.id %% 3)
from analytics_event_keys k where k.event_id like '%%-r%%'
"""

_AGGREGATE = """
select count(*) from public.analytics_aggregate_events_v1(
  (select array_agg(e.id) from analytics_events e where e.organization_id = any(%(orgs)s::uuid[])),
  now() - interval '40 days', now() + interval '1 day')
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="admin URL of a PostgreSQL server")
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the filled database (to measure it again)")
    parser.add_argument("--database", help="measure a database kept by an earlier --keep run (no fill)")
    parser.add_argument("--only", help="time only these checks (comma-separated names), no full runs")
    record.add_argument(parser)
    return parser


def _fill(url: str, orgs: int) -> tuple[float, int]:
    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as c:
        for statement in _FILL.split(";\n"):
            c.execute(statement, {"orgs": orgs})
        ids = [r[0] for r in c.execute("select id from organizations order by id")]
        for i in range(0, len(ids), 250):  # the aggregation locks each organization: keep the lock table small
            with c.transaction():
                c.execute(_AGGREGATE, {"orgs": ids[i : i + 250]})
        c.execute("analyze")
        row = c.execute("select count(*) from analytics_events").fetchone()
    assert row is not None
    return time.perf_counter() - start, int(row[0])


@contextlib.contextmanager
def _database(args: argparse.Namespace) -> Iterator[str]:
    """The throwaway database (dropped at the end unless --keep), or the kept one --database names."""
    if args.database:
        url = conninfo.make_conninfo(args.server, dbname=args.database)
        os.environ["DATABASE_URL"] = url
        settings.clear_cache()
        try:
            yield url
        finally:
            db.close_pools()
        return
    with scratch.database(args.server, "monitor", keep=args.keep) as url:
        if args.keep:
            print(f"- database {conninfo.conninfo_to_dict(url)['dbname']} kept (--database to reuse)", file=sys.stderr)
        yield url


def _count(url: str) -> int:
    with psycopg.connect(url) as c:
        row = c.execute("select count(*) from analytics_events").fetchone()
    assert row is not None
    return int(row[0])


def _per_check(scope: checks.Scope, only: set[str] | None = None) -> dict[str, float]:
    now = datetime.now(UTC)
    took: dict[str, float] = {}
    with db.transaction() as conn:
        timed: tuple[tuple[str, Callable[[], object]], ...] = (
            ("freshness", lambda: checks.freshness(conn, scope, now)),
            ("volume", lambda: checks.volume(conn, scope, now)),
            ("rates", lambda: checks.rates(conn, scope, now)),
            ("schema_drift", lambda: checks.schema_drift(conn, scope, now)),
            ("reconciliation", lambda: reconciliation.reconcile(db.transaction, scope, now)),
            *((name, functools.partial(alert, conn, now, None)) for name, alert in business.CHECKS.items()),
        )
        for name, check in timed:
            if only is not None and name not in only:
                continue
            start = time.perf_counter()
            check()
            took[name] = time.perf_counter() - start
    return took


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = record.start()
    with _database(args) as url:
        if args.database:
            fill, events = 0.0, _count(url)
        else:
            fill, events = _fill(url, args.orgs)
        with psycopg.connect(url) as c:
            scope: dict[Any, str] = dict(c.execute("select id, timezone from organizations").fetchall())
        args.orgs = len(scope)
        per_check = _per_check(scope, set(args.only.split(",")) if args.only else None)
        if args.only:
            print("per check: " + ", ".join(f"{k} {v:.2f} s" for k, v in per_check.items()))
            print(f"load average {os.getloadavg()}")
            return 0
        runs = []
        for _ in range(args.runs):
            start = time.perf_counter()
            summary = quality.run(db.transaction)  # what the monitor function's POST / runs, in this order
            sent = alerts.process(db.transaction, summary)
            runs.append(time.perf_counter() - start)
        failing = sum(1 for r in summary.results if r.status == "fail")
        print(f"organizations {args.orgs}, events {events} (filled and aggregated in {fill:.1f} s)")
        print(f"results per run {len(summary.results)} ({failing} failing); incidents of the last run {sent}")
        print("per check: " + ", ".join(f"{k} {v:.2f} s" for k, v in per_check.items()))
        print(
            "rest of a run (global checks, storing the results, incidents and notifications): "
            f"{statistics.median(runs) - sum(per_check.values()):.2f} s"
        )
        print(
            f"monitor run (all checks and business alerts, all orgs, stored, incidents): median {statistics.median(runs):.2f} s "
            f"(runs {', '.join(f'{r:.2f}' for r in runs)}); goal under 30 s"
        )
        record.write(
            "monitor_scale",
            args,
            {
                "organizations": args.orgs,
                "events": events,
                "fill_seconds": fill,
                "results_per_run": len(summary.results),
                "failing_results": failing,
                "incidents_last_run": sent,
                "load_average": list(os.getloadavg()),
                "per_check_seconds": per_check,
                "monitor_run_seconds": {"median": statistics.median(runs), "runs": runs},
            },
            database_url=args.server,
            started=started,
            path=args.json,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
