"""How long the four business alerts take, each one query over every organization, on a database with three years
of daily rollups per organization (inquiries, payments), two years of reviews and bookings with payments. Prints
the figures for BENCHMARKS.md and writes them, with commit, date and machine, as JSON (bench/results/, or
--json PATH).

    .venv/bin/python bench/business_alerts.py --server postgresql://postgres@127.0.0.1:5432/postgres [--orgs 200]

It creates a throwaway database on that server (dropped at the end); it never restarts anything. The rollups are
written directly (this measures the alerts' reads, not the aggregation); the booking state that the balance
alert reads is then built by the state rebuild function.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record, scratch
from shared.core import db
from shared.monitor import business

_FILL = """
insert into analytics_rollups_daily (organization_id, metric, day, dim1, dim2, currency, events)
select o.id, m.metric, d::date, m.dim1, '', m.currency,
       greatest(0, round(m.scale * (1 + 0.7 * cos(2 * pi() * (extract(doy from d) - 40) / 365.25))
                         * (0.5 + random())))::bigint
from organizations o
cross join generate_series(now() - interval '3 years', now(), interval '1 day') d
cross join (values ('inquiry.received', 'instagram', '', 2.0), ('inquiry.received', 'google', '', 1.0),
                   ('payment.succeeded', 'balance', 'GBP', 4.0), ('payment.failed', 'balance', 'GBP', 0.3))
  as m(metric, dim1, currency, scale);

insert into analytics_event_keys (organization_id, event_id, occurred_at)
select o.id, 'r-' || o.id || '-' || g, now() - g * interval '7 days'
from organizations o, generate_series(1, %(reviews)s) g;

insert into analytics_event_keys (organization_id, event_id, occurred_at)
select o.id, kind || '-' || o.id || '-' || g, now() - interval '100 days' + g * interval '1 hour'
from organizations o, generate_series(1, %(bookings)s) g, unnest(array['b', 'p']) kind;

insert into analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at, received_at,
  stored_at, source, client_id, booking_id, amount_minor, currency, properties)
select k.id, k.organization_id, k.event_id,
       case left(k.event_id, 1) when 'r' then 'review.received' when 'b' then 'booking.confirmed'
            else 'payment.succeeded' end,
       1, k.occurred_at, k.occurred_at, k.occurred_at, 'api', 'c-' || k.id,
       case when left(k.event_id, 1) in ('b', 'p') then split_part(k.event_id, '-', 7) end,
       case left(k.event_id, 1) when 'b' then 500000 when 'p' then 100000 * (k.id %% 6) end,
       case when left(k.event_id, 1) in ('b', 'p') then 'GBP' end,
       case left(k.event_id, 1)
         when 'r' then jsonb_build_object('review_id', k.event_id, 'rating', 3 + k.id %% 3, 'nps', 6 + k.id %% 5)
         when 'b' then jsonb_build_object('booking_id', split_part(k.event_id, '-', 7), 'package', 'full-day',
                                          'value_minor', 500000, 'currency', 'GBP',
                                          'wedding_date', (current_date + (k.id %% 60)::int)::text)
         else jsonb_build_object('booking_id', split_part(k.event_id, '-', 7), 'amount_minor',
                                 100000 * (k.id %% 6), 'currency', 'GBP') end
from analytics_event_keys k;
analyze;
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="admin URL of a PostgreSQL server")
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--reviews", type=int, default=100, help="reviews per organization (one a week)")
    parser.add_argument("--bookings", type=int, default=200, help="bookings per organization (with one payment)")
    parser.add_argument("--repeat", type=int, default=3)
    record.add_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = record.start()
    with scratch.database(args.server, "business") as url:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(
                "insert into organizations (name, timezone, currency) "
                "select 'Org ' || g, (array['Europe/London', 'America/New_York', 'Asia/Kathmandu'])[1 + g %% 3], "
                "'GBP' from generate_series(1, %s) g",
                (args.orgs,),
            )
            start = time.perf_counter()
            for statement in _FILL.split(";\n"):
                if statement.strip():
                    c.execute(statement, {"reviews": args.reviews, "bookings": args.bookings})
            fill = time.perf_counter() - start
            # The events bypass aggregate, so build the booking state the balance alert reads as a rebuild does.
            start = time.perf_counter()
            c.execute("select analytics_rebuild_state_v1(id) from organizations")
            state = time.perf_counter() - start
            rollups = c.execute("select count(*) as n from analytics_rollups_daily").fetchone()
            events = c.execute("select count(*) as n from analytics_events").fetchone()
            assert rollups is not None and events is not None
        figures: dict[str, dict[str, float | int]] = {}
        now = datetime.now(UTC)
        for alert, check in business.CHECKS.items():
            took, results = [], 0
            for _ in range(args.repeat):
                with db.transaction() as conn:
                    begin = time.perf_counter()
                    found = check(conn, now, None)
                    took.append(time.perf_counter() - begin)
                results = len(found)
            failing = sum(1 for r in found if r.status == "fail")
            figures[alert] = {"median_seconds": statistics.median(took), "results": results, "failing": failing}
            print(f"{alert:28} median {statistics.median(took):.3f} s  results {results}  failing {failing}")
        total = sum(f["median_seconds"] for f in figures.values())
        print(
            f"organizations {args.orgs}, daily rollup rows {rollups[0]}, events {events[0]} (filled in {fill:.1f} s, "
            f"booking state built in {state:.1f} s); "
            f"all four alerts: {total:.2f} s"
        )
        record.write(
            "business_alerts",
            args,
            {
                "organizations": args.orgs,
                "daily_rollup_rows": rollups[0],
                "events": events[0],
                "fill_seconds": fill,
                "state_seconds": state,
                "alerts": figures,
                "all_alerts_seconds": total,
            },
            database_url=args.server,
            started=started,
            path=args.json,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
