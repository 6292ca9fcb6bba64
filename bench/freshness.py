"""Freshness of the rollups under a steady ingest load, and the aggregate stage's throughput.

Starts the real local pipeline (every function of deploy.yaml with its dispatchers, `shared.tools.runner.start`) on
a throwaway database, posts events to ingest at a fixed rate, and measures for every request the time from its
202 answer to its events being visible in the rollups (each request carries its own `app.action` action, so a
poller sees exactly when its rollup row appears). Then, with aggregate stopped, fills the aggregate queue and
times `aggregation.drain` alone.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/freshness.py \
        --rates 1000 10000 --seconds 20

Prints a Markdown table for BENCHMARKS.md and writes the figures, with commit, date and machine, as JSON
(bench/results/, or --json PATH). Runs for about `len(rates) * (seconds + 10) + 30` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import wedsync_client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu, record, scratch
from bench import watcher as watcher_mod
from shared.aggregate import aggregation
from shared.core import db, organizations
from shared.tools import deployment, runner


def _event(batch: int, i: int, when: datetime) -> dict[str, Any]:
    return {
        "event_id": f"b{batch}-{i}-{uuid.uuid4().hex[:6]}",
        "type": "app.action",
        "occurred_at": when.isoformat(),
        "client_id": f"c-{i % 50}",
        "data": {"user_id": f"u-{i % 7}", "action": f"bench_{batch}"},
    }


_MIX: list[tuple[str, dict[str, Any]]] = [
    ("inquiry.received", {"lead_source": "instagram", "channel": "web_form"}),
    ("booking.confirmed", {"package": "full_day", "value_minor": 320000, "wedding_date": "2027-06-12"}),
    ("payment.succeeded", {"payment_id": "p", "amount_minor": 80000, "kind": "deposit", "currency": "EUR"}),
    ("email.opened", {"message_id": "m", "template": "welcome"}),
    ("notification.delivered", {"notification_id": "n", "channel": "sms", "template": "reminder"}),
    ("review.received", {"review_id": "r", "rating": 5, "nps": 9}),
]


def _mixed(batch: int, i: int, when: datetime) -> dict[str, Any]:
    """A realistic mix of event types (every 7th an app action), spread over ten hours of buckets."""
    if i % 7 == 6:
        return _event(batch, i, when)
    kind, data = _MIX[i % len(_MIX)]
    data = {**data, "booking_id": f"bk-{batch}-{i}"} if kind == "booking.confirmed" else data
    return {
        "event_id": f"m{batch}-{i}",
        "type": kind,
        "occurred_at": when.isoformat(),
        "client_id": f"c-{i % 200}",
        "data": data,
    }


def run_load(
    ingest: str,
    key: str,
    watcher: watcher_mod.Watcher,
    rate: int,
    seconds: float,
    batch_size: int,
    groups: dict[str, int] | None = None,
    postmaster: int | None = None,
) -> dict[str, Any]:
    """Post `rate` events/s for `seconds`, in requests of `batch_size` events, on a fixed schedule."""
    # One attempt per request, as before the client: a request that fails counts as an error, never retried.
    client = wedsync_client.Client(ingest, key, attempts=1, timeout=30)
    requests_per_second = rate / batch_size
    total = int(requests_per_second * seconds)
    late = 0
    errors = 0
    base = int(time.time() * 1000) % 10**9

    def send(n: int) -> None:
        nonlocal errors
        now = datetime.now(UTC)
        # One app action marks the request (the poller looks for its action); the rest is the realistic mix,
        # so view refreshes (bookings, payments, inquiries) run during the measurement too.
        report = client.post([_event(base + n, 0, now)] + [_mixed(base + n, i, now) for i in range(1, batch_size)])
        at = time.monotonic()
        if report.failed:
            errors += 1
            return
        with watcher.lock:
            watcher.occurred[f"bench_{base + n}"] = now
            watcher.accepted[f"bench_{base + n}"] = at

    server_before = watcher_mod.server_counters(watcher.url)
    cpu_before = cpu.snapshot(groups or {}, postmaster, this_process="bench process")
    backends_before = cpu.backend_seconds(watcher.url) if postmaster else {}
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for n in range(total):
            due = start + n / requests_per_second
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.05:
                late += 1
            pool.submit(send, n)
    sent_seconds = time.monotonic() - start
    server_after = watcher_mod.server_counters(watcher.url)
    depth_while_sending = dict(watcher.max_depth)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with watcher.lock:
            if len(watcher.visible) >= len(watcher.accepted):
                break
        time.sleep(0.05)
    cpu_after, done = cpu.snapshot(groups or {}, postmaster, this_process="bench process"), time.monotonic()
    by_backend = cpu.backend_seconds_by_name(backends_before, cpu.backend_seconds(watcher.url)) if postmaster else {}
    with watcher.lock:
        keys = [k for k in watcher.accepted if k.startswith("bench_") and int(k[6:]) >= base]
        lat = [watcher.visible[k] - watcher.accepted[k] for k in keys if k in watcher.visible]
        missing = len(keys) - len(lat)
        timeline = watcher_mod.timeline(
            start, sent_seconds, [(watcher.accepted[k], watcher.visible.get(k)) for k in keys], watcher
        )
    return {
        "rate": rate,
        "achieved": round(len(keys) * batch_size / sent_seconds),
        "requests": len(keys),
        "batch": batch_size,
        "errors": errors,
        "late_sends": late,
        "missing": missing,
        "p50": watcher_mod.percentile(lat, 0.50),
        "p95": watcher_mod.percentile(lat, 0.95),
        "p99": watcher_mod.percentile(lat, 0.99),
        "max": max(lat),
        "mean": statistics.fmean(lat),
        "max_queue_depth": depth_while_sending,
        # What the server did while the load ran: WAL written per event, and checkpoints started (by time or
        # because max_wal_size filled up: a checkpoint's full-page writes and flushing compete with the load).
        "server": {
            "wal_bytes_per_event": (server_after["wal"] - server_before["wal"]) / max(1, len(keys) * batch_size),
            "checkpoints_timed": server_after["timed"] - server_before["timed"],
            "checkpoints_requested": server_after["requested"] - server_before["requested"],
        },
        "timeline": timeline,
        # CPU per event of each part, from the first request until every event was visible (or the wait ended);
        # "bench process" is the load generator, the poller and the local queue dispatchers. Two cores give 200 us
        # per event at 10,000 events/s: what the parts add up to says whether a rate can be sustained at all.
        "cpu_us_per_event": {
            n: round((cpu_after[n] - cpu_before[n]) * 1e6 / max(1, len(keys) * batch_size), 1) for n in cpu_before
        },
        # PostgreSQL's share by whose connection it worked for (the rest of "postgresql" is its background
        # processes: WAL writer, checkpointer, autovacuum, and backends that ended during the run).
        "postgresql_us_per_event_by_connection": {
            n: round(v * 1e6 / max(1, len(keys) * batch_size), 1) for n, v in sorted(by_backend.items())
        },
        "cores_busy": round(sum(cpu_after[n] - cpu_before[n] for n in cpu_before) / (done - start), 2),
    }


def throughput(url: str, org: organizations.CreatedOrganization, events: int) -> dict[str, Any]:
    """Aggregate alone: fill the aggregate queue (ingest and validate only), then time draining it."""
    spec = deployment.load()
    only = deployment.DeployFile(functions={k: v for k, v in spec.functions.items() if k in ("ingest", "validate")})
    pipeline = runner.start(url, spec=only, poll_seconds=1.0)
    try:
        now = datetime.now(UTC)
        client = wedsync_client.Client(pipeline.url("ingest"), org.ingest_key, attempts=1, timeout=60)
        with ThreadPoolExecutor(max_workers=8) as pool:

            def post(n: int) -> None:
                client.post([_mixed(n, i, now - timedelta(minutes=i % 600)) for i in range(500)])

            list(pool.map(post, range(events // 500)))
        with psycopg.connect(url, autocommit=True) as conn:
            while conn.execute("select queue_length from pgmq.metrics('ingest')").fetchone()[0]:  # type: ignore[index]
                time.sleep(0.2)
            # Re-cut the queued work into messages of 50 events, the shape validate produces at a steady
            # 1,000 events/s, so the per-message and per-transaction costs are part of the figure.
            with conn.transaction():
                rows = conn.execute("select msg_id, message from pgmq.q_aggregate").fetchall()
                conn.execute("select pgmq.delete('aggregate', %s::bigint[])", ([r[0] for r in rows],))
                pieces = []
                for _, message in rows:
                    ids = message["ids"]
                    pieces += [json.dumps({**message, "ids": ids[k : k + 50]}) for k in range(0, len(ids), 50)]
                conn.execute("select pgmq.send_batch('aggregate', %s::jsonb[])", (pieces,))
            queued = len(pieces)
    finally:
        pipeline.stop()
    t0 = time.monotonic()
    totals, more = aggregation.drain(db.transaction, budget=timedelta(minutes=5))
    seconds = time.monotonic() - t0
    return {
        "events": totals.events,
        "messages": totals.messages,
        "queued_messages": queued,
        "seconds": seconds,
        "events_per_second": totals.events / seconds,
        "more": more,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=0, help="events per request (default: rate / 20)")
    parser.add_argument("--throughput-events", type=int, default=50_000)
    record.add_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = record.start()

    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with scratch.database(admin, "freshness") as url:
        with db.transaction() as conn:
            org = organizations.create(
                conn,
                organizations.NewOrganization(name="Bench Studio", timezone="Asia/Kathmandu", currency="NPR"),
            )
        results = []
        # Dispatchers as `up` runs them (wake on each queue insert, a 5 s safety poll): a 1 s poll cost every idle
        # queue function ~6 ms of CPU a second, on the cores measured.
        pipeline = runner.start(url)
        groups = {n: f.process.pid for n, f in pipeline.functions.items()}  # each started in its own session
        postmaster = cpu.server_pid(url)
        watcher = watcher_mod.Watcher(url, org.id)
        watcher.start()
        try:
            time.sleep(2)
            for rate in args.rates:
                batch = args.batch or max(1, min(1000, rate // 20))
                watcher.max_depth = {"ingest": 0, "aggregate": 0}
                result = run_load(
                    pipeline.url("ingest"), org.ingest_key, watcher, rate, args.seconds, batch, groups, postmaster
                )
                results.append(result)
                print(json.dumps(result), flush=True)
        finally:
            watcher.stop.set()
            pipeline.stop()
        tp = throughput(url, org, args.throughput_events)
        print(json.dumps(tp), flush=True)
        print(
            "\n| target ev/s | achieved ev/s | events/request | requests | p50 ms | p95 ms | p99 ms "
            "| max ms |"
            " not visible | max depth ingest / aggregate queue |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in results:
            print(
                f"| {r['rate']} | {r['achieved']} | {r['batch']} | {r['requests']} | {r['p50'] * 1000:.0f} | "
                f"{r['p95'] * 1000:.0f} | {r['p99'] * 1000:.0f} | {r['max'] * 1000:.0f} | {r['missing']} | "
                f"{r['max_queue_depth']['ingest']} / {r['max_queue_depth']['aggregate']} |"
            )
        for r in results:
            server = r["server"]
            print(
                f"\n{r['rate']} events/s: WAL {server['wal_bytes_per_event']:,.0f} bytes per event, checkpoints "
                f"{server['checkpoints_timed']} timed / {server['checkpoints_requested']} requested (WAL full); "
                f"CPU us per event {r['cpu_us_per_event']}, of PostgreSQL's by connection "
                f"{r['postgresql_us_per_event_by_connection']}, cores busy {r['cores_busy']}; "
                "per 5 s (from second: requests, p99 ms, max depth ingest/aggregate): "
                + ", ".join(
                    f"{w['from_second']:.0f}: {w['requests']}, {w['p99_ms']}, "
                    f"{w['max_depth_ingest']}/{w['max_depth_aggregate']}"
                    for w in r["timeline"]
                )
            )
        print(
            f"\naggregate alone: {tp['events']} events in {tp['messages']} messages, {tp['seconds']:.2f} s, "
            f"{tp['events_per_second']:.0f} events/s"
        )
        record.write(
            "freshness",
            args,
            {**{f"rate_{r['rate']}": r for r in results}, "aggregate_alone": tp},
            database_url=admin,
            started=started,
            path=args.json,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
