"""The raw-event export of one organization at scale: events per second and the exporting process's peak memory
while it streams N events as gzipped CSV, exactly as GET /v1/export/events and `export events` do (one
transaction as the organization under row-level security, COPY of the query, compressed piece by piece). Prints
the figures for BENCHMARKS.md and writes them, with commit, date and machine, as JSON (bench/results/, or
--json PATH).

    .venv/bin/python bench/export.py --server postgresql://postgres@127.0.0.1:5432/postgres [--events 10000000]

It creates a throwaway database on that server (dropped at the end), fills it with generate_series (the events
of the exported organization plus a tenth as many of another one, which must not appear), and never restarts
anything.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import uuid
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record, scratch
from shared.dashboard import eventexport
from shared.tools.commands import exports

_FILL = """
insert into analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at, received_at,
  stored_at, source, client_id, booking_id, amount_minor, currency, properties)
select g, %(org)s, 'evt-' || g,
       (array['inquiry.received', 'payment.succeeded', 'email.opened', 'app.action', 'review.received'])[1 + g %% 5],
       1, timestamptz '2025-01-01' + g * interval '3 seconds', timestamptz '2025-01-01' + g * interval '3 seconds',
       timestamptz '2025-01-01' + g * interval '3 seconds', (array['api', 'stripe', 'resend'])[1 + g %% 3],
       'client-' || (g %% 20000), case when g %% 5 = 1 then 'booking-' || (g %% 3000) end,
       case when g %% 5 = 1 then 1000 + g %% 250000 end, case when g %% 5 = 1 then 'GBP' end,
       jsonb_build_object('lead_source', 'instagram', 'channel', 'web_form', 'template', 'welcome-' || (g %% 7),
                          'wedding_date', '2027-06-12')
from generate_series(%(first)s::bigint, %(last)s::bigint) g
"""


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _fill(url: str, org: uuid.UUID, other: uuid.UUID, events: int, chunk: int = 1_000_000) -> float:
    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as c:
        for first in range(1, events + 1, chunk):
            c.execute(_FILL, {"org": org, "first": first, "last": min(first + chunk - 1, events)})
        c.execute(_FILL, {"org": other, "first": events + 1, "last": events + max(events // 10, 1)})
        c.execute("vacuum analyze analytics_events")
    return time.perf_counter() - start


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="admin URL of a PostgreSQL server")
    parser.add_argument("--events", type=int, default=10_000_000, help="events of the exported organization")
    record.add_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = record.start()
    os.environ["DB_STATEMENT_TIMEOUT_MS"] = "0"
    os.environ["DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"] = "0"
    with scratch.database(args.server, "export") as url:
        with psycopg.connect(url, autocommit=True) as c:
            ids = [
                row[0]
                for row in c.execute(
                    "insert into organizations (name, timezone, currency) values "
                    "('Exported', 'Europe/London', 'GBP'), ('Other', 'Europe/London', 'GBP') returning id"
                ).fetchall()
            ]
        org, other = ids
        fill = _fill(url, org, other, args.events)
        with psycopg.connect(url) as c:
            row = c.execute(
                "select sum(pg_total_relation_size(inhrelid))::bigint from pg_inherits "
                "where inhparent = 'analytics_events'::regclass"
            ).fetchone()
            assert row is not None
            table_bytes = int(row[0])
        print(f"filled {args.events:,} events (+{max(args.events // 10, 1):,} of another organization) in {fill:.0f} s")

        rss_before = _peak_rss_mib()
        viewer = exports.viewer_of(org)
        unpack = zlib.decompressobj(16 + zlib.MAX_WBITS)
        gz_bytes = csv_bytes = lines = 0
        first_piece = None
        window = eventexport.window(eventexport.ExportQuery(), ZoneInfo("Europe/London"))  # every event
        start = time.perf_counter()
        for piece in eventexport.stream(viewer, *window):
            if first_piece is None:
                first_piece = time.perf_counter() - start
            gz_bytes += len(piece)
            raw = unpack.decompress(piece)  # to check the count; costs a little of the measured rate
            csv_bytes += len(raw)
            lines += raw.count(b"\n")
        took = time.perf_counter() - start
        rss_after = _peak_rss_mib()
        exported = lines - 1  # the header
        assert exported == args.events, f"exported {exported:,} of {args.events:,} events"
        figures = {
            "events": args.events,
            "other_organization_events": max(args.events // 10, 1),
            "fill_seconds": fill,
            "table_bytes": table_bytes,
            "export_seconds": took,
            "first_bytes_seconds": first_piece,
            "events_per_second": args.events / took,
            "csv_bytes": csv_bytes,
            "gzip_bytes": gz_bytes,
            "peak_rss_mib_before_export": rss_before,
            "peak_rss_mib_after_export": rss_after,
            "peak_rss_growth_mib": rss_after - rss_before,
        }
        print(
            f"exported {exported:,} events in {took:.1f} s ({args.events / took:,.0f} events/s; first bytes after "
            f"{first_piece or 0:.2f} s): CSV {csv_bytes / 2**20:,.0f} MiB, gzipped {gz_bytes / 2**20:,.0f} MiB"
        )
        print(
            f"peak RSS of the exporting process: {rss_before:.0f} MiB before, {rss_after:.0f} MiB after "
            f"(+{rss_after - rss_before:.1f} MiB)"
        )
        record.write("export", args, figures, database_url=args.server, started=started, path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
