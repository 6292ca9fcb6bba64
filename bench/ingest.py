"""Ingest throughput: events per second from HTTP POST to stored row, for batches of 1, 100 and 1000 events,
next to a binary COPY of the same rows into analytics_events (the physical limit of this machine).

Run:  .venv/bin/python bench/ingest.py            (DATABASE_URL, or an embedded server in a temp dir)
It creates and drops its own database. Prints a table for BENCHMARKS.md and writes the figures, with commit, date
and machine, as JSON (bench/results/, or --json PATH); `--scale 0.1` is a quick run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import wedsync_client
from psycopg import conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu, record
from shared.core import db, embedded, migrations, organizations
from shared.tools import deployment, runner
from tests import factories


def _server() -> str:
    return os.environ.get("DATABASE_URL") or embedded.ensure_running(tempfile.mkdtemp(), throwaway=True)


def _events(n: int, prefix: str) -> list[dict[str, Any]]:
    kinds = list(factories.SAMPLE_DATA)
    return [factories.make_event(kinds[i % len(kinds)], event_id=f"{prefix}-{i}") for i in range(n)]


def _wait_stored(url: str, expected: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (count,) = conn.execute("select count(*) from analytics_events").fetchone()  # type: ignore[misc]
            if count >= expected:
                return time.monotonic()
            time.sleep(0.01)
    raise TimeoutError(f"only part of {expected} events were stored")


def run_http(
    url: str,
    ingest_url: str,
    key: str,
    batch: int,
    total: int,
    clients: int,
    groups: dict[str, int] | None = None,
    postmaster: int | None = None,
) -> dict[str, Any]:
    events = _events(total, f"b{batch}-{uuid.uuid4().hex[:6]}")
    batches = [events[i : i + batch] for i in range(0, total, batch)]
    with psycopg.connect(url, autocommit=True) as conn:
        (before,) = conn.execute("select count(*) from analytics_events").fetchone()  # type: ignore[misc]
    # The sender client, as a service would send: one request per batch (a session per thread), retried by the
    # ingest contract; with nothing failing it makes exactly the requests the hand-written loop made.
    client = wedsync_client.Client(ingest_url, key, timeout=60)
    latencies: list[float] = []

    def post(events: list[dict[str, Any]]) -> None:
        t0 = time.perf_counter()
        report = client.post(events)
        latencies.append(time.perf_counter() - t0)
        assert not report.failed and report.retries == 0, report.failed

    cpu_before = cpu.snapshot(groups or {}, postmaster, this_process="load_generator")
    start = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, batches))
    acked = time.monotonic()
    cpu_sent = cpu.snapshot({}, None, this_process="load_generator")
    client.close()
    stored = _wait_stored(url, before + total)
    cpu_after = cpu.snapshot(groups or {}, postmaster, this_process="load_generator")
    return {
        "batch": batch,
        "events": total,
        "requests": len(batches),
        "ingest_eps": total / (acked - start),
        "end_to_end_eps": total / (stored - start),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) >= 100 else max(latencies) * 1000,
        # CPU per request, in us, of the load generator (this process, while sending) and each function's
        # processes (until the events were stored); PostgreSQL's share is what the 2 cores had left.
        "cpu_us_per_request": {
            n: (cpu_after[n] - cpu_before[n]) * 1e6 / len(batches) for n in cpu_before if n != "load_generator"
        }
        | {"load_generator": (cpu_sent["load_generator"] - cpu_before["load_generator"]) * 1e6 / len(batches)},
    }


def run_copy(url: str, org_id: uuid.UUID, total: int) -> float:
    """Binary COPY of the same shape of rows straight into analytics_events."""
    now = datetime.now(UTC)
    rows = [
        (
            10**12 + i,
            org_id,
            f"copy-{i}",
            "payment.succeeded",
            1,
            now,
            now,
            "api",
            "client-1",
            "b-1",
            80000,
            "GBP",
            json.dumps(factories.SAMPLE_DATA["payment.succeeded"]),
        )
        for i in range(total)
    ]
    cols = (
        "id, organization_id, event_id, event_type, schema_version, occurred_at, received_at, source, client_id, "
        "booking_id, amount_minor, currency, properties"
    )
    types = [
        "int8",
        "uuid",
        "text",
        "text",
        "int2",
        "timestamptz",
        "timestamptz",
        "text",
        "text",
        "text",
        "int8",
        "text",
        "jsonb",
    ]
    with psycopg.connect(url) as conn:
        start = time.monotonic()
        with (
            conn.cursor() as cur,
            cur.copy(f"copy analytics_events ({cols}) from stdin (format binary)") as copy,
        ):
            copy.set_types(types)  # char(3) takes a text-format value: psycopg has no binary bpchar dumper
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return total / (time.monotonic() - start)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the event counts")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--batches", type=int, nargs="+", default=[1, 100, 1000], help="events per request; one run each"
    )
    parser.add_argument(
        "--whole-pipeline",
        action="store_true",
        help="run every function of deploy.yaml on this machine (aggregation, views, cron) while measuring; by "
        "default only the measured path runs, ingest and validate, as in production where each has its instances",
    )
    record.add_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    started = record.start()
    server = _server()
    name = f"wsa_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    url = conninfo.make_conninfo(server, dbname=name)
    os.environ["DATABASE_URL"] = url
    os.environ["INGEST_RATE_PER_SECOND"] = "0"  # measure the pipeline, not the per-key limit (20 requests/s)
    try:
        migrations.migrate(url)
        with db.transaction(url) as conn:
            org = organizations.create(
                conn,
                organizations.NewOrganization(name="Bench Studio", timezone="Europe/London", currency="GBP"),
            )
        spec = deployment.load()
        if not args.whole_pipeline:
            spec = spec.model_copy(update={"functions": {n: spec.functions[n] for n in ("ingest", "validate")}})
        pipeline = runner.start(url, spec=spec)
        groups = {n: f.process.pid for n, f in pipeline.functions.items()}  # each started in its own session
        totals = {1: 2_000, 100: 50_000, 1000: 100_000}
        try:
            results = [
                run_http(
                    url,
                    pipeline.url("ingest"),
                    org.ingest_key,
                    batch,
                    int(totals.get(batch, 100 * batch) * args.scale),
                    args.clients,
                    groups,
                    cpu.server_pid(url),
                )
                for batch in args.batches
            ]
        finally:
            pipeline.stop()
        copy_eps = run_copy(url, org.id, int(100_000 * args.scale))
    finally:
        db.close_pools()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")
    print(
        f"# ingest benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, PostgreSQL at {'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'embedded'}, "
        f"{'the whole pipeline' if args.whole_pipeline else 'ingest and validate'} running"
    )
    print(
        "| batch | events | HTTP 202 ev/s | end-to-end ev/s (stored) | request p50 ms | request p99 ms | "
        "CPU us/request: load generator / ingest / validate / PostgreSQL |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        used = r["cpu_us_per_request"]
        print(
            f"| {r['batch']} | {r['events']} | {r['ingest_eps']:,.0f} | {r['end_to_end_eps']:,.0f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{used['load_generator']:,.0f} / {used.get('ingest', 0):,.0f} / {used.get('validate', 0):,.0f} / "
            f"{used.get('postgresql', 0):,.0f} |"
        )
    print(f"| COPY baseline | {int(100_000 * args.scale)} | | {copy_eps:,.0f} | | |")
    record.write(
        "ingest",
        args,
        {f"batch_{r['batch']}": r for r in results},
        baseline={"copy": {"events": int(100_000 * args.scale), "end_to_end_eps": copy_eps}},
        database_url=server,
        started=started,
        path=args.json,
    )


if __name__ == "__main__":
    main()
