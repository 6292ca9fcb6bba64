"""Dashboard API latency: every endpoint cold (answer cache cleared) and cached, next to the same question asked
as a GROUP BY over the raw events, at a given number of stored events.

Builds a throwaway database (bench/apibuild.py: events written straight into analytics_events, rollups and
booking/client state rebuilt, views refreshed, vacuumed and analyzed), then calls the
dashboard function in-process through the functions-framework test client (so: routing, auth with a read key,
RLS transaction, metric layer, JSON; no network). Half of the events belong to the measured organization, the
rest to four others (RLS has to filter them out). Events are spread over the last 365 days.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api.py --events 1000000

Prints a Markdown table for BENCHMARKS.md, writes the figures (the raw GROUP BYs as the baseline), with commit, date
and machine, as JSON (bench/results/, or --json PATH), and drops the database, unless kept: build a large one once
and measure it again later (say on a quiet machine) with

    ... bench/api.py --events 10000000 --keep wsa_bench_api_10m --build-only
    ... bench/api.py --reuse wsa_bench_api_10m
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
from bench.apibuild import build_database, rebuild_state, refresh_views, settle
from shared.core import apikeys, db, migrations, organizations, settings
from shared.dashboard import answercache
from shared.metrics import timeframes

Figures = dict[str, Any]

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
        help="with --reuse: first build the booking and client state, refresh the views and vacuum/analyze (for a"
        " database kept by an older version of this script, or one whose build stopped after the rollups)",
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
            refresh_views()
            settle(url)
            print(f"# state rebuilt, views refreshed, vacuumed and analyzed in {time.perf_counter() - t0:.1f} s")
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
