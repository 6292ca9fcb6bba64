"""Where the time goes, per event and per stage: ingest, validate and aggregate each run under cProfile on the
same events, one stage after the other, in this process (no HTTP server, no load generator in the figures).

Run:  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/stage_profile.py [--events N]
It creates and drops its own database. Ingest is called through functions-framework's test client (the request
as the platform hands it over: routing, key check, body, catalog, queueing, the 202), with bodies of `--batch`
events; then validate drains the ingest queue and aggregate the aggregate queue, each through its stage package
as its function calls it. For each stage it prints the wall and CPU time of this process per event (wall minus
CPU is mostly waiting for PostgreSQL, and on a shared machine waiting for a core), the share of named steps
(cumulative time of the functions that implement them) and the functions that cost the most themselves.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import record
from tests import factories

# Named steps per stage: (label, file suffix, function name); each is the cumulative time of that function.
STEPS: dict[str, list[tuple[str, str, str]]] = {
    "ingest": [
        ("whole request (routing to 202)", "shared/core/http.py", "dispatch"),
        ("key check", "shared/core/http.py", "key_caller"),
        ("parse the body", "shared/ingest/document.py", "parse"),
        ("judge each event (hostile JSON walk)", "shared/ingest/document.py", "judge"),
        ("catalog check and pseudonyms (pydantic-core)", "shared/catalog/events.py", "check_batch"),
        ("transaction: known keys, queue send, commit", "shared/core/db.py", "transaction"),
        ("one-round-trip transaction (all-good request)", "shared/ingest/intake.py", "_queue_unless_known"),
        ("known keys query", "shared/core/db.py", "fetch_scalars"),
        ("queue send (incl. message JSON)", "shared/core/queues.py", "send"),
        ("message JSON (pydantic dump)", "shared/core/queues.py", "_encode"),
        ("answer JSON", "shared/core/http.py", "json_response"),
    ],
    "validate": [
        ("whole batch", "shared/validate/validation.py", "run_batch"),
        ("queue read (incl. decoding jsonb)", "shared/core/queues.py", "read"),
        ("parse messages (pydantic IngestMessage)", "shared/validate/validation.py", "_parse_message"),
        ("build rows", "shared/validate/validation.py", "_process_events"),
        ("store rows (incl. encoding them)", "shared/validate/validation.py", "_store"),
        ("JSON for jsonb_to_recordset", "json/__init__.py", "dumps"),
        ("aggregate queue send", "shared/core/queues.py", "send_batch"),
        ("intake counters", "shared/core/stats.py", "write"),
        ("queue delete", "shared/core/queues.py", "delete"),
        ("commit", "psycopg/connection.py", "commit"),
    ],
    "aggregate": [
        ("whole batch", "shared/aggregate/aggregation.py", "run_batch"),
        ("queue read", "shared/aggregate/aggregation.py", "_read"),
        ("parse messages (pydantic StoredEvents)", "shared/aggregate/aggregation.py", "_parse"),
        ("rollup upsert (analytics_aggregate_events_v1)", "shared/aggregate/aggregation.py", "apply"),
        ("queue delete", "shared/core/queues.py", "delete"),
        ("commit", "psycopg/connection.py", "commit"),
    ],
}


def _events(n: int, prefix: str) -> list[dict[str, Any]]:
    kinds = list(factories.SAMPLE_DATA)
    return [factories.make_event(kinds[i % len(kinds)], event_id=f"{prefix}-{i}") for i in range(n)]


def _wal_position(url: str) -> int:
    """The server's current WAL insert position in bytes (cluster-wide: run on a server nothing else writes to)."""
    with psycopg.connect(url, autocommit=True) as conn:
        (lsn,) = conn.execute("select pg_current_wal_insert_lsn() - '0/0'::pg_lsn").fetchone()  # type: ignore[misc]
    return int(lsn)


def _measured(url: str, run: Callable[[], None], events: int) -> tuple[dict[str, Any], pstats.Stats]:
    profile = cProfile.Profile()
    wal0 = _wal_position(url)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    profile.enable()
    run()
    profile.disable()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    wal = _wal_position(url) - wal0
    stats = pstats.Stats(profile)
    figures = {
        "events": events,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "wall_us_per_event": wall / events * 1e6,
        "cpu_us_per_event": cpu / events * 1e6,
        "waiting_us_per_event": max(wall - cpu, 0.0) / events * 1e6,
        "events_per_second": events / wall,
        # Write-ahead log per event: what a sustained load costs the disk and the checkpoints (docs/scaling.md).
        "wal_bytes_per_event": wal / events,
    }
    return figures, stats


def _steps(stage: str, stats: pstats.Stats, events: int) -> list[dict[str, Any]]:
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    found = []
    for label, suffix, name in STEPS[stage]:
        cumulative = sum(v[3] for (path, _, fn), v in table.items() if fn == name and path.endswith(suffix))
        calls = sum(v[1] for (path, _, fn), v in table.items() if fn == name and path.endswith(suffix))
        found.append({"step": label, "us_per_event": cumulative / events * 1e6, "calls": calls})
    return found


def _top(stats: pstats.Stats, events: int, n: int) -> list[dict[str, Any]]:
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    ranked = sorted(table.items(), key=lambda kv: kv[1][2], reverse=True)[:n]
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return [
        {
            "function": f"{path.replace(root, '').split('site-packages/')[-1]}:{line}({fn})",
            "self_us_per_event": v[2] / events * 1e6,
            "cumulative_us_per_event": v[3] / events * 1e6,
            "calls": v[1],
        }
        for (path, line, fn), v in ranked
    ]


def profile_stages(url: str, events: int, batch: int, top: int) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("INGEST_RATE_PER_SECOND", "0")
    from functions_framework import create_app

    from shared.aggregate import aggregation
    from shared.core import db, organizations, settings
    from shared.validate import validation

    settings.clear_cache()
    with db.transaction(url) as conn:
        org = organizations.create(
            conn, organizations.NewOrganization(name="Profile Studio", timezone="Europe/London", currency="GBP")
        )
    app = create_app(target="ingest", source=str(record.ROOT / "functions/ingest/main.py")).test_client()
    headers = {"Authorization": f"Bearer {org.ingest_key}", "Content-Type": "application/json"}
    warm = _events(batch, "warm")
    assert app.post("/v1/events", data=json.dumps({"events": warm}), headers=headers).status_code == 202
    validation.drain(db.transaction, budget=timedelta(minutes=5))
    aggregation.drain(db.transaction, budget=timedelta(minutes=5))
    sample = _events(events, uuid.uuid4().hex[:8])
    bodies = [json.dumps({"events": sample[i : i + batch]}).encode() for i in range(0, events, batch)]

    def ingest() -> None:
        for body in bodies:
            answer = app.post("/v1/events", data=body, headers=headers)
            assert answer.status_code == 202, answer.text

    def validate() -> None:
        totals, more = validation.drain(db.transaction, budget=timedelta(minutes=10))
        assert totals.stored == events and not more, totals

    def aggregate() -> None:
        totals, more = aggregation.drain(db.transaction, budget=timedelta(minutes=10))
        assert totals.events == events and not more, totals

    results: dict[str, Any] = {}
    for stage, run in (("ingest", ingest), ("validate", validate), ("aggregate", aggregate)):
        figures, stats = _measured(url, run, events)
        results[stage] = {**figures, "steps": _steps(stage, stats, events), "top": _top(stats, events, top)}
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100, help="events per ingest request")
    parser.add_argument("--top", type=int, default=12, help="functions listed per stage by their own time")
    record.add_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    started = record.start()
    server = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"wsa_profile_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    url = conninfo.make_conninfo(server, dbname=name)
    from shared.core import db, migrations

    try:
        migrations.migrate(url)
        results = profile_stages(url, args.events, args.batch, args.top)
    finally:
        db.close_pools()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")
    for stage, r in results.items():
        print(
            f"## {stage}: {r['events']} events, {r['events_per_second']:,.0f} ev/s in this process; per event "
            f"wall {r['wall_us_per_event']:.1f} us, CPU {r['cpu_us_per_event']:.1f} us, waiting "
            f"{r['waiting_us_per_event']:.1f} us, WAL {r['wal_bytes_per_event']:,.0f} bytes"
        )
        print("| step | us/event (cumulative) | calls |\n|---|---|---|")
        for s in r["steps"]:
            print(f"| {s['step']} | {s['us_per_event']:.1f} | {s['calls']} |")
        print("| function (own time) | own us/event | cumulative us/event | calls |\n|---|---|---|---|")
        for t in r["top"]:
            print(
                f"| `{t['function']}` | {t['self_us_per_event']:.1f} | {t['cumulative_us_per_event']:.1f} | "
                f"{t['calls']} |"
            )
    record.write("stage_profile", args, results, database_url=server, started=started, path=args.json)


if __name__ == "__main__":
    main()
