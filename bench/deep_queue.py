"""A backlog of single-event messages drained by validate, with the deep read (QUEUE_DEEP_READ_EVENTS) on and off:
transactions, wall and CPU per event of this process, alternated rounds in one database.

Run:  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/deep_queue.py [--messages N]
(without DATABASE_URL, an embedded throwaway server). It creates and drops its own database. Each round queues N single-event messages through the real ingest logic
(one request's transaction each), then times `validation.drain` until the queue is empty.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import record
from shared.core import apikeys, db, embedded, migrations, organizations, settings
from shared.ingest import intake
from shared.validate import validation
from tests import factories


def _round(caller: apikeys.Caller, messages: int, deep_events: int) -> dict[str, float]:
    for _ in range(messages):
        intake.accept(db.transaction, caller, [factories.make_event("inquiry.received")])
    os.environ["QUEUE_DEEP_READ_EVENTS"] = str(deep_events)
    settings.clear_cache()
    transactions = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        outcome = validation.run_batch(db.transaction)
        if not outcome.messages:
            break
        transactions += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "transactions": transactions,
        "wall_us_per_event": wall * 1e6 / messages,
        "cpu_us_per_event": cpu * 1e6 / messages,
        "events_per_second": messages / wall,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="single-event messages queued per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds of deep read off and on")
    record.add_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    started = record.start()
    server = os.environ.get("DATABASE_URL") or embedded.ensure_running(tempfile.mkdtemp(), throwaway=True)
    name = f"wsa_bench_deep_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    url = conninfo.make_conninfo(server, dbname=name)
    os.environ["DATABASE_URL"] = url
    settings.clear_cache()
    results: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    try:
        migrations.migrate(url)
        with db.transaction() as conn:
            org = organizations.create(
                conn, organizations.NewOrganization(name="Deep", timezone="Europe/London", currency="GBP")
            )
        caller = apikeys.KeyCache().lookup(db.transaction, org.ingest_key)
        assert caller is not None
        validation.drain(db.transaction)  # partitions made before the timing
        for _ in range(args.rounds):
            for label, deep in (("off", 0), ("on", 5000)):
                results[label].append(_round(caller, args.messages, deep))
                r = results[label][-1]
                print(
                    f"deep read {label:3s}: {r['transactions']:.0f} transactions, {r['wall_us_per_event']:.0f} us "
                    f"wall and {r['cpu_us_per_event']:.0f} us CPU per event, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    finally:
        db.close_pools()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")
    medians: dict[str, Any] = {
        label: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for label, runs in results.items()
    }
    print("| deep read | transactions | wall us/event | CPU us/event (this process) | events/s |")
    print("|---|---|---|---|---|")
    for label, m in medians.items():
        print(
            f"| {label} | {m['transactions']:.0f} | {m['wall_us_per_event']:.0f} | {m['cpu_us_per_event']:.0f} | "
            f"{m['events_per_second']:,.0f} |"
        )
    record.write(
        "deep_queue",
        args,
        {"rounds": results, "medians": medians},
        database_url=server,
        started=started,
        path=args.json,
    )


if __name__ == "__main__":
    main()
