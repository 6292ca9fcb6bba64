"""One hour's reports for 10,000 organizations, planned by the `report` cron's planner and drained by N
report-worker processes (N = 1, 2, 4): plan time, drain time, time per report (p50/p95), reports per second.

    .venv/bin/python bench/report_scale.py --server postgresql://postgres@127.0.0.1:5432/postgres \
        [--orgs 10000] [--with-data 200] [--workers 1,2,4]

The organizations are generated, not 10,000 real pipelines. One template business (a year of a wedding
photographer, `bench/sample_report.py`'s generator, through the real ingest, validate, aggregate and view
refresh) is copied row for row into `--with-data` organizations; the others get one event each (so the
planner owes them a report). All ask for the weekly report and are spread over four time zones, and the
planner runs at each zone's closing hour as the hourly cron does: the week closes at local midnight, each
hour's plan queues the reports newly due and re-finds the earlier zones' without queueing them again.
The drains then make the `--with-data` organizations' reports with the real generation code (content from
`shared.metrics`, charts, HTML, PDF, CSV, local storage; no delivery), one worker process each, side by side.

It creates a throwaway database on that server (dropped at the end); it never restarts anything.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record, sample_report, scratch
from shared import report as reports
from shared.core import db, organizations, settings
from shared.refresh import views as refresh
from shared.report import worker
from shared.validate import validation

WEEK_END = date(2026, 11, 30)  # the week of 23 November closes at each zone's midnight into Monday 30 November
ZONES = ["Pacific/Auckland", "Asia/Tokyo", "Europe/London", "America/New_York"]
WEEKLY = '{"reports": {"weekly": true, "monthly": false}}'
NONE = '{"reports": {"weekly": false, "monthly": false}}'
# Tables holding a business's data, copied from the template organization (reports, plans, keys, links and
# monitoring results are not the business's data).
_SKIP = {
    "organizations",
    "api_keys",
    "analytics_reports",
    "analytics_report_plans",
    "analytics_event_keys",
    "analytics_events",
    "analytics_webhook_sources",
    "analytics_share_links",
    "analytics_erasure_audit",
    "analytics_rollup_rebuilds",
    "analytics_dead_letters",
    "analytics_alert_rules",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="admin URL of a PostgreSQL server")
    parser.add_argument("--orgs", type=int, default=10_000, help="organizations planned")
    parser.add_argument("--with-data", type=int, default=200, help="organizations with a full year, drained")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to drain with, in turn")
    record.add_argument(parser)
    return parser


def _template() -> Any:
    with db.transaction() as conn:
        validation.ensure_partitions(conn, date(2025, 1, 1), months_ahead=30)
        org = organizations.create(
            conn,
            organizations.NewOrganization(
                name="Template Photography", timezone="Europe/London", currency="GBP", settings={}
            ),
        )
    events = sample_report.wedding_year(WEEK_END - timedelta(days=400), WEEK_END - timedelta(days=1), org.timezone)
    sample_report.load(org, events, datetime(2026, 11, 30, 0, 30, tzinfo=UTC))
    return org, len(events)


def _tables(c: psycopg.Connection[Any]) -> dict[str, list[str]]:
    rows = c.execute(
        """select c.relname, array_agg(a.attname order by a.attnum)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                                  and a.attidentity = '' and a.attgenerated = ''
           where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
             and exists (select 1 from pg_attribute x where x.attrelid = c.oid and x.attname = 'organization_id')
           group by c.relname"""
    ).fetchall()
    return {name: [col for col in cols if col != "organization_id"] for name, cols in rows if name not in _SKIP}


def _fill(url: str, template: Any, orgs: int, with_data: int) -> float:
    """Create the organizations and copy the template's data into the first `with_data` of them."""
    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(
            "insert into organizations (name, timezone, currency, settings) "
            "select 'Org ' || g, (%(zones)s::text[])[1 + g %% %(n)s], 'GBP', %(settings)s::jsonb "
            "from generate_series(1, %(orgs)s) g",
            {"zones": ZONES, "n": len(ZONES), "orgs": orgs, "settings": WEEKLY},
        )
        ids = [r[0] for r in c.execute("select id from organizations where id <> %s order by name", (template.id,))]
        data, empty = ids[:with_data], ids[with_data:]
        tables = _tables(c)
        cols = [col for col in _event_columns(c) if col != "id"]
        for i in range(0, len(data), 25):
            chunk = data[i : i + 25]
            with c.transaction():
                c.execute(
                    "insert into analytics_event_keys (organization_id, event_id, occurred_at) "
                    "select o, k.event_id, k.occurred_at from analytics_event_keys k, unnest(%s::uuid[]) o "
                    "where k.organization_id = %s",
                    (chunk, template.id),
                )
                c.execute(
                    psycopg.sql.SQL(
                        "insert into analytics_events (id, organization_id, {cols}) "
                        "select k.id, k.organization_id, {ecols} from analytics_events e "
                        "join analytics_event_keys k on k.event_id = e.event_id and k.organization_id = any(%s) "
                        "where e.organization_id = %s"
                    ).format(
                        cols=psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, cols)),
                        ecols=psycopg.sql.SQL(", ").join(psycopg.sql.Identifier("e", col) for col in cols),
                    ),
                    (chunk, template.id),
                )
                for table, columns in tables.items():
                    c.execute(
                        psycopg.sql.SQL(
                            "insert into {t} (organization_id, {cols}) select o, {cols} from {t}, unnest(%s::uuid[]) o "
                            "where organization_id = %s"
                        ).format(
                            t=psycopg.sql.Identifier(table),
                            cols=psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, columns)),
                        ),
                        (chunk, template.id),
                    )
        c.execute(
            "insert into analytics_event_keys (organization_id, event_id, occurred_at) "
            "select o, 'first', timestamptz '2026-10-01 12:00+00' from unnest(%s::uuid[]) o",
            (empty,),
        )
        c.execute(
            "insert into analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at, "
            "received_at, stored_at, source, client_id) select k.id, k.organization_id, k.event_id, 'app.action', 1, "
            "k.occurred_at, k.occurred_at, k.occurred_at, 'api', 'client-1' from analytics_event_keys k "
            "where k.event_id = 'first'"
        )
        c.execute("update organizations set settings = %s::jsonb where id = %s", (NONE, template.id))
        c.execute("analyze")
    refresh.run(db.transaction, force=True)
    return time.perf_counter() - start


def _event_columns(c: psycopg.Connection[Any]) -> list[str]:
    rows = c.execute(
        "select attname from pg_attribute where attrelid = 'analytics_events'::regclass and attnum > 0 "
        "and not attisdropped and attname <> 'organization_id' order by attnum"
    ).fetchall()
    return [r[0] for r in rows]


def _closing_hours() -> list[datetime]:
    """The UTC hour (plus 10 minutes) in which each zone's week closes, earliest first."""
    closes = [datetime.combine(WEEK_END, datetime.min.time(), ZoneInfo(z)).astimezone(UTC) for z in ZONES]
    return sorted(t.replace(minute=0) + timedelta(minutes=10) for t in closes)


def _worker(url: str, go: Event, out: Any) -> None:
    os.environ["DATABASE_URL"] = url
    settings.clear_cache()
    with db.transaction() as conn:  # connect before the clock starts
        conn.execute("select 1")
    go.wait()
    took: list[tuple[float, float]] = []
    while True:
        start, cpu = time.perf_counter(), time.process_time()
        done = worker.run_one(db.transaction)
        if not done.messages:
            break
        took.append((time.perf_counter() - start, time.process_time() - cpu))
    db.close_pools()
    out.put(took)


def _drain(url: str, n: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, go, out)) for _ in range(n)]
    for p in procs:
        p.start()
    time.sleep(3)  # let every process import and connect
    start = time.perf_counter()
    go.set()
    per_worker = [out.get() for _ in procs]
    wall = time.perf_counter() - start
    for p in procs:
        p.join()
    times = sorted(t for ts in per_worker for t, _ in ts)
    cpu = sorted(c for ts in per_worker for _, c in ts)
    return {
        "workers": n,
        "reports": len(times),
        "per_worker": [len(ts) for ts in per_worker],
        "drain_seconds": wall,
        "per_report_ms": {
            "p50": 1000 * statistics.median(times) if times else None,
            "p95": 1000 * times[int(0.95 * (len(times) - 1))] if times else None,
        },
        "worker_cpu_per_report_ms": {"p50": 1000 * statistics.median(cpu) if cpu else None},
        "reports_per_second": len(times) / wall if wall else None,
        "load_average_after": list(os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = record.start()
    files = tempfile.mkdtemp(prefix="wsa-report-scale-")
    os.environ["REPORTS_LOCAL_DIR"] = files
    os.environ["DB_STATEMENT_TIMEOUT_MS"] = "0"  # the views' refresh over every copied organization takes a while
    with scratch.database(args.server, "reports") as url:
        t0 = time.perf_counter()
        template, events = _template()
        print(f"template business: {events} events through the pipeline in {time.perf_counter() - t0:.1f} s")
        fill = _fill(url, template, args.orgs, args.with_data)
        print(f"{args.orgs} organizations ({args.with_data} with the template's year) in {fill:.1f} s")
        # Last week's reports were planned and made last week: the hourly plans below find only this week's.
        reports.plan(db.transaction, now=_closing_hours()[-1] - timedelta(weeks=1))
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("select pgmq.purge_queue('reports')")
            c.execute("update analytics_report_plans set state = 'done', finished_at = now()")
        plans: list[dict[str, Any]] = []
        for hour in _closing_hours():
            start = time.perf_counter()
            outcome = reports.plan(db.transaction, now=hour)
            plans.append({"at": hour.isoformat(), "seconds": time.perf_counter() - start, "queued": outcome.queued})
            print(
                f"plan at {hour:%a %H:%M} UTC: {outcome.queued} queued of {outcome.due} due in {plans[-1]['seconds']:.2f} s"
            )
        total = sum(int(p["queued"]) for p in plans)
        start = time.perf_counter()
        again = reports.plan(db.transaction, now=_closing_hours()[-1])
        replan = time.perf_counter() - start
        print(
            f"{total} reports planned for {args.orgs} organizations; a re-plan in the same hour queued {again.queued} ({replan:.2f} s)"
        )
        drains = []
        for n in [int(x) for x in args.workers.split(",")]:
            with psycopg.connect(url, autocommit=True) as c:
                c.execute("select pgmq.purge_queue('reports')")
                c.execute("delete from analytics_report_plans")
                c.execute("delete from analytics_reports")
                c.execute(
                    "update organizations set settings = %s::jsonb where id not in "
                    "(select distinct organization_id from analytics_rollups_daily) or id = %s",
                    (NONE, template.id),
                )
            queued = reports.plan(db.transaction, now=_closing_hours()[-1]).queued
            result = _drain(url, n)
            result["queued"] = queued
            drains.append(result)
            print(
                f"drain with {n} worker(s): {result['reports']} of {queued} reports in {result['drain_seconds']:.1f} s, "
                f"{result['reports_per_second']:.2f} reports/s, per report p50 {result['per_report_ms']['p50']:.0f} ms "
                f"p95 {result['per_report_ms']['p95']:.0f} ms, worker CPU per report p50 "
                f"{result['worker_cpu_per_report_ms']['p50']:.0f} ms (per worker {result['per_worker']}; "
                f"load {', '.join(f'{x:.1f}' for x in result['load_average_after'])})"
            )
        record.write(
            "report_scale",
            args,
            {
                "organizations": args.orgs,
                "with_data": args.with_data,
                "template_events": events,
                "fill_seconds": fill,
                "plans": plans,
                "planned": total,
                "replan_seconds": replan,
                "replan_queued": again.queued,
                "drains": drains,
            },
            database_url=args.server,
            started=started,
            path=args.json,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
