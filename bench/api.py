"""Dashboard API latency: every endpoint cold (answer cache cleared) and cached, next to the same question asked
as a GROUP BY over the raw events, at a given number of stored events.

Builds a throwaway database, writes the events straight into analytics_events with one INSERT ... SELECT over
generate_series per chunk (no HTTP, no queues), builds the rollups with the recovery path
(`analytics_rebuild_v1`, one call per organization) and refreshes the materialized views, then calls the
dashboard function in-process through the functions-framework test client (so: routing, auth with a read key,
RLS transaction, metric layer, JSON; no network). Half of the events belong to the measured organization, the
rest to four others (RLS has to filter them out). Events are spread over the last 365 days.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api.py --events 1000000

Prints a Markdown table for BENCHMARKS.md, writes the figures (the raw GROUP BYs as the baseline), with commit, date
and machine, as JSON (bench/results/, or --json PATH), and drops the database (unless --keep).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo, sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import record
from shared.core import apikeys, db, migrations, organizations, settings
from shared.dashboard import answercache
from shared.metrics import timeframes
from shared.refresh import views as refresh

Figures = dict[str, Any]

TYPES = (
    ["inquiry.received"] * 3
    + ["client.created"] * 2
    + ["email.sent"] * 3
    + ["email.delivered"] * 2
    + ["email.opened"] * 2
    + ["notification.sent"] * 2
    + ["form.started"] * 2
    + [
        "form.submitted",
        "booking.confirmed",
        "payment.succeeded",
        "payment.refunded",
        "review.received",
        "journey.started",
        "app.action",
        "app.action",
    ]
)

GENERATE = """
insert into public.analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at,
  received_at, stored_at, source, client_id, booking_id, amount_minor, currency, properties)
select nextval('public.analytics_events_id_seq'), %(org)s, 'bench-' || g, t.type, 1,
       %(end)s::timestamptz - ((g * 7919) %% (%(days)s * 86400)) * interval '1 second', now(), now(), 'api',
       'c-' || (g %% %(clients)s),
       case when t.type in ('booking.confirmed', 'payment.succeeded', 'payment.refunded')
            then 'b-' || (g %% %(clients)s) end,
       case when t.type in ('booking.confirmed', 'payment.succeeded', 'payment.refunded')
            then 1000 + (g %% 500) * 100 end,
       case when t.type in ('booking.confirmed', 'payment.succeeded', 'payment.refunded')
            then (array['GBP', 'EUR'])[1 + g %% 2] end,
       jsonb_build_object(
         'lead_source', (array['instagram', 'google', 'referral', 'wedding_wire', 'other'])[1 + g %% 5],
         'channel', (array['web_form', 'email', 'phone'])[1 + g %% 3],
         'package', (array['full_day', 'half_day', 'elopement'])[1 + g %% 3],
         'kind', (array['deposit', 'instalment', 'balance'])[1 + g %% 3], 'method', 'card',
         'template', (array['welcome', 'reminder', 'follow_up', 'thanks'])[1 + g %% 4], 'campaign', '',
         'form_id', 'f-' || (g %% 3), 'journey_id', 'j-' || (g %% 2), 'platform', 'google',
         'rating', 1 + g %% 5, 'nps', g %% 11, 'action', 'open_client', 'user_id', 'u-' || (g %% 4),
         'wedding_date', (date '2027-01-01' + (g %% 365)::int)::text)
from generate_series(%(first)s::bigint, %(last)s::bigint) g
cross join lateral (select (%(types)s::text[])[1 + ((g * 2654435761) %% %(ntypes)s)] as type) t
"""

RAW: dict[str, str] = {
    "overview": """select event_type, count(*), sum(amount_minor), count(distinct client_id)
                   from public.analytics_events
                   where organization_id = %(org)s and occurred_at >= %(start)s and occurred_at < %(end)s
                   group by event_type""",
    "timeseries": """select date_trunc('day', occurred_at at time zone %(tz)s), count(*) from public.analytics_events
                     where organization_id = %(org)s and event_type = 'inquiry.received'
                       and occurred_at >= %(start)s and occurred_at < %(end)s group by 1""",
    "active clients": """select date_trunc('week', occurred_at at time zone %(tz)s), count(distinct client_id)
                         from public.analytics_events
                         where organization_id = %(org)s and occurred_at >= %(start)s and occurred_at < %(end)s
                         group by 1""",
    "breakdown": """select properties ->> 'lead_source', count(*) from public.analytics_events
                    where organization_id = %(org)s and event_type = 'inquiry.received'
                      and occurred_at >= %(start)s and occurred_at < %(end)s group by 1""",
    "revenue": """select currency, sum(amount_minor) filter (where event_type = 'payment.succeeded'),
                         sum(amount_minor) filter (where event_type = 'payment.refunded')
                  from public.analytics_events where organization_id = %(org)s
                    and event_type in ('payment.succeeded', 'payment.refunded')
                    and occurred_at >= %(start)s and occurred_at < %(end)s group by currency""",
    "funnel": """with f as (select client_id,
                             min(occurred_at) filter (where event_type = 'inquiry.received') as fi,
                             min(occurred_at) filter (where event_type = 'booking.confirmed') as fb
                           from public.analytics_events where organization_id = %(org)s and client_id is not null
                             and event_type in ('inquiry.received', 'booking.confirmed') group by client_id)
                 select count(*), count(fb) from f where fi >= %(start)s and fi < %(end)s""",
}


def _days_back(days: int) -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()}


QUESTIONS: list[tuple[str, str, dict[str, str], int]] = [
    ("overview", "/v1/metrics/overview", _days_back(30), 30),
    ("timeseries", "/v1/metrics/timeseries", {"metric": "inquiries", "interval": "day", **_days_back(365)}, 365),
    (
        "active clients",
        "/v1/metrics/timeseries",
        {"metric": "active_clients", "interval": "week", **_days_back(365)},
        365,
    ),
    ("breakdown", "/v1/metrics/breakdown", {"metric": "inquiries", "by": "lead_source", **_days_back(90)}, 90),
    ("revenue", "/v1/revenue", _days_back(365), 365),
    ("funnel", "/v1/funnel", _days_back(90), 90),
    ("quality", "/v1/quality", _days_back(7), 7),
    ("metrics", "/v1/metrics", {}, 0),
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _time(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cold", type=int, default=30, help="cold requests per endpoint")
    parser.add_argument("--cached", type=int, default=200, help="cached requests per endpoint")
    parser.add_argument("--raw", type=int, default=5, help="raw GROUP BY runs per question")
    parser.add_argument(
        "--keep",
        nargs="?",
        const="",
        metavar="NAME",
        help="build into database NAME (a random name without one) and keep it, to measure it again with --reuse",
    )
    parser.add_argument(
        "--reuse",
        "--database",
        dest="database",
        metavar="NAME",
        help="measure the database an earlier --keep run built (no build; pending migrations are applied first)",
    )
    parser.add_argument("--build-only", action="store_true", help="with --keep: build the database, measure nothing")
    parser.add_argument(
        "--settle",
        action="store_true",
        help="with --reuse: first build the booking and client state and vacuum/analyze (for a database kept by an"
        " older version of this script, which did neither)",
    )
    record.add_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    started = record.start()
    admin = os.environ["DATABASE_URL"]
    if args.build_only and args.keep is None:
        raise SystemExit("--build-only needs --keep NAME")
    name = args.database or args.keep or f"wsa_bench_api_{uuid.uuid4().hex[:6]}"
    if not args.database:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = conninfo.make_conninfo(admin, dbname=name)
    os.environ["DATABASE_URL"] = url
    settings.clear_cache()
    try:
        figures, baseline = _run(url, args)
        if args.build_only:
            print(f"- database {name} built and kept; measure it with --reuse {name}", file=sys.stderr)
            return
        record.write("api", args, figures, baseline=baseline, database_url=admin, started=started, path=args.json)
    finally:
        db.close_pools()
        if args.keep is None and not args.database:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _run(url: str, args: argparse.Namespace) -> tuple[Figures, Figures]:
    """Build (or reuse) the database and measure it; returns the figures and the raw GROUP BY baseline."""
    if args.database:
        migrations.migrate(url)  # a database kept before a schema change gets it the way production would
        if args.settle:
            t0 = time.perf_counter()
            rebuild_state(url)
            settle(url)
            print(f"# state rebuilt, vacuumed and analyzed in {time.perf_counter() - t0:.1f} s", flush=True)
        with db.transaction() as c:
            orgs = [
                organizations.create(
                    c, organizations.NewOrganization(name="Bench reader", timezone="UTC", currency="GBP")
                )
            ]
            big = c.execute(
                "select organization_id from public.analytics_events group by 1 order by count(*) desc limit 1"
            ).fetchone()
            assert big is not None
            # A read key for the biggest organization of the kept database.
            orgs = [orgs[0].model_copy(update={"id": big[0], "read_key": apikeys.create(c, big[0], ["read"]).key})]
        print(f"# {args.database}: measuring the kept database", flush=True)
        endpoints, raw = _measure(url, orgs, args)
        return {"build": {"kept_database": args.database}, "endpoints": endpoints}, {"raw_group_by": raw}
    orgs, build = build_database(url, args.events)
    if args.build_only:
        return {"build": build}, {}
    endpoints, raw = _measure(url, orgs, args)
    if args.keep is not None:
        print(
            f"- database {url} kept; measure it again with --reuse {conninfo.conninfo_to_dict(url)['dbname']}",
            file=sys.stderr,
        )
    return {"build": build, "endpoints": endpoints}, {"raw_group_by": raw}


def build_database(url: str, events: int) -> tuple[list[Any], Figures]:
    """Migrate the empty database at `url`, write `events` events for five organizations (half for the first, the
    measured one), build their rollups and refresh the views; the organizations and the build's figures."""
    migrations.migrate(url)
    with db.transaction() as c:
        orgs = [
            organizations.create(
                c,
                organizations.NewOrganization(
                    name=f"Bench {i}", timezone="Europe/London" if i else "Asia/Kathmandu", currency="GBP"
                ),
            )
            for i in range(5)
        ]
    shares = [events // 2] + [events // 8] * 4
    end = datetime.now(UTC) - timedelta(minutes=15)
    t0 = time.perf_counter()
    first = 1
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("set synchronous_commit = off")
        for org, share in zip(orgs, shares, strict=True):
            for lo in range(first, first + share, 1_000_000):
                hi = min(lo + 1_000_000, first + share) - 1
                c.execute(
                    GENERATE,
                    {
                        "org": org.id,
                        "end": end,
                        "days": 365,
                        "clients": max(share // 20, 1),
                        "first": lo,
                        "last": hi,
                        "types": TYPES,
                        "ntypes": len(TYPES),
                    },
                )
            first += share
        c.execute("analyze public.analytics_events")
    t_insert = time.perf_counter() - t0
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as c:
        for org in orgs:
            c.execute(
                "select * from public.analytics_rebuild_v1(%s, %s, %s, 'aggregate')",
                (org.id, end - timedelta(days=366), end + timedelta(days=1)),
            )
        rollups = c.execute(
            "select count(*) from public.analytics_rollups where organization_id = %s", (orgs[0].id,)
        ).fetchone()
        c.execute("analyze public.analytics_rollups; analyze public.analytics_active_clients")
    t_rebuild = time.perf_counter() - t0
    t0 = time.perf_counter()
    rebuild_state(url)
    t_state = time.perf_counter() - t0
    t0 = time.perf_counter()
    refresh.run(db.transaction, force=True)
    t_refresh = time.perf_counter() - t0
    t0 = time.perf_counter()
    settle(url)
    t_settle = time.perf_counter() - t0
    print(
        f"# {events:,} events: insert {t_insert:.1f} s, rebuild rollups {t_rebuild:.1f} s, state {t_state:.1f} s, "
        f"refresh views {t_refresh:.1f} s, vacuum and analyze {t_settle:.1f} s; "
        f"measured organization: {shares[0]:,} events, "
        f"{rollups[0] if rollups else 0:,} rollup rows",
        flush=True,
    )

    build = {
        "events": events,
        "insert_seconds": t_insert,
        "rebuild_seconds": t_rebuild,
        "state_seconds": t_state,
        "refresh_seconds": t_refresh,
        "settle_seconds": t_settle,
        "measured_organization_events": shares[0],
        "measured_organization_rollup_rows": rollups[0] if rollups else 0,
    }
    return orgs, build


def rebuild_state(url: str) -> None:
    """Build every organization's booking and client state (analytics_bookings, analytics_clients) from its
    events, as aggregate keeps it in production: the overview's bookings.made, bookings.cancelled and
    clients.first_seen read it, and an empty state would make those reads look free."""
    with psycopg.connect(url, autocommit=True) as c:
        for (org,) in c.execute("select id from public.organizations order by id").fetchall():
            c.execute("select public.analytics_rebuild_state_v1(%s, 'aggregate')", (org,))


def settle(url: str) -> None:
    """Do what autovacuum would have done long before anyone reads a production database (this machine's clusters
    run with autovacuum off): statistics for every table, and a vacuum of everything but the event store, whose
    visibility map lets the rollups and views be read index-only. Without it the planner guessed one row for the
    daily tier (never analyzed) and sorted where it should hash."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("analyze")
        names = c.execute(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'public' and c.relkind in ('r', 'm') and c.relname not like 'analytics_events%'"
        ).fetchall()
        for (name,) in names:
            c.execute(sql.SQL("vacuum {}").format(sql.SQL(name)))


def _measure(url: str, orgs: list[Any], args: argparse.Namespace) -> tuple[Figures, Figures]:
    """Print the table; returns each endpoint's percentiles and those of its raw GROUP BY."""
    from functions_framework import create_app

    source = str(Path(__file__).resolve().parent.parent / "functions/dashboard/main.py")
    app = create_app(target="dashboard", source=source).test_client()
    headers = {"Authorization": f"Bearer {orgs[0].read_key}"}
    with db.transaction() as c:
        row = c.execute("select timezone from public.organizations where id = %s", (orgs[0].id,)).fetchone()
        assert row is not None
        tz = row[0]
    print(
        "| endpoint | window | cold p50 ms | cold p99 ms | cached p50 ms | cached p99 ms | raw GROUP BY p50 ms | "
        "raw p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    endpoints: Figures = {}
    raw_figures: Figures = {}
    for label, path, params, days in QUESTIONS:

        def call(path: str = path, params: dict[str, str] = params) -> None:
            answer = app.get(path, query_string=params, headers=headers)
            assert answer.status_code == 200, answer.json

        def cold(call: Callable[[], None] = call) -> None:
            answercache.cache.clear()
            call()

        call()  # warm the process (imports, pool, key cache)
        cold_ms = _time(cold, args.cold)
        cached_ms = _time(call, args.cached) if label != "quality" else []
        raw_ms: list[float] = []
        if label in RAW:
            start, stop = timeframes.local_window(
                tz, datetime.fromisoformat(params["from"]).date(), datetime.fromisoformat(params["to"]).date()
            )
            windows = [(start, stop)]
            if label == "overview":  # the overview also answers the previous period
                windows.append((start - (stop - start), start))
            with psycopg.connect(url, autocommit=True) as c:

                def raw(
                    c: psycopg.Connection[Any] = c,
                    label: str = label,
                    windows: list[tuple[datetime, datetime]] = windows,
                ) -> None:
                    for a, b in windows:
                        c.execute(RAW[label], {"org": orgs[0].id, "start": a, "end": b, "tz": tz}).fetchall()

                raw_ms = _time(raw, args.raw)

        def fmt(values: list[float], q: float) -> str:
            return f"{_pct(values, q):.1f}" if values else "-"

        window = f"{days} days" if days else "-"
        print(
            f"| {label} | {window} | {fmt(cold_ms, 0.5)} | {fmt(cold_ms, 0.99)} | {fmt(cached_ms, 0.5)} | "
            f"{fmt(cached_ms, 0.99)} | {fmt(raw_ms, 0.5)} | {fmt(raw_ms, 0.99)} |",
            flush=True,
        )
        endpoints[label] = {
            "window_days": days or None,
            "requests": {"cold": len(cold_ms), "cached": len(cached_ms)},
            **_percentiles("cold", cold_ms),
            **_percentiles("cached", cached_ms),
        }
        if raw_ms:
            raw_figures[label] = {"runs": len(raw_ms), **_percentiles("raw", raw_ms)}
    return endpoints, raw_figures


def _percentiles(kind: str, values: list[float]) -> dict[str, float | None]:
    return {f"{kind}_p{q}_ms": _pct(values, q / 100) if values else None for q in (50, 99)}


if __name__ == "__main__":
    main()
