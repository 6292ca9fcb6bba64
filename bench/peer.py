"""Our pipeline next to the trigger design the seed sketched, in one run, on the same events.

The peer is what a capable engineer would build for the same job: one HTTP handler (served like ours by
functions-framework) that checks the key and the events with the same catalog (`shared.catalog`), inserts the rows
with the same claim-the-key-then-insert statement (so retries stay exactly once), and a statement-level trigger
(bench/peer.sql) that folds the inserted rows into the same rollups with the same fold function, in the same
transaction; its 202 means stored and counted. Ours runs ingest, validate, aggregate and refresh
(`shared.tools.runner`). Each design gets its own throwaway database with the same migrations.

Run:  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/peer.py [--scale 1]

Measures, for each design: ingest with batches of 100 from 1 and from 8 concurrent senders and single events
from 8 (events per second to the last answer, and for ours also to the last stored row and to the last event
counted in the rollups), freshness at a steady rate (from the answer to the rollup row; `bench.freshness`), the
dashboard's questions cold (`bench.api`), and checks that both hold the same rollups.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask
import functions_framework
import orjson
import psycopg
import requests
from psycopg import conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import record
from shared.catalog import events
from shared.core import db, errors, organizations, settings
from shared.core import http as web
from shared.validate import eventstore

ROOT = Path(__file__).resolve().parent.parent


@functions_framework.http
def peer_ingest(request: flask.Request) -> flask.Response:
    """The peer's whole write path: key, catalog, insert; the trigger counts the rows before the commit."""
    if request.path == "/healthz":
        return flask.Response("ok")
    caller = web.key_caller(request, "ingest")
    if isinstance(caller, flask.Response):
        return caller
    doc = orjson.loads(request.get_data())
    raws = doc["events"] if isinstance(doc, dict) and "events" in doc else [doc]
    conf = settings.get_settings()
    now = datetime.now(UTC)
    checked = events.check_batch(
        raws,
        tz=caller.timezone,
        now=now,
        max_future_skew=conf.max_future_skew,
        pii_key=conf.pii_hash_key.get_secret_value().encode(),
    )
    if checked.rejected:
        return web.problem(400, "invalid_events", f"{len(checked.rejected)} events do not match the catalog")
    seen: set[str] = set()
    rows = []
    for _, event in checked.accepted:
        if event["event_id"] not in seen:
            seen.add(event["event_id"])
            rows.append(eventstore.row(event, caller.organization_id, caller.currency, "api", now.isoformat()))
    try:
        with db.transaction() as conn:
            stored = eventstore.store(conn, rows)
    except errors.PipelineError as exc:
        return web.problem(503, "unavailable", str(exc)[:200])
    accepted = sum(len(g.ids) for g in stored)
    return web.json_response({"accepted": accepted, "duplicates": len(raws) - accepted}, 202)


def _events(n: int, prefix: str) -> list[dict[str, Any]]:
    from tests import factories

    kinds = list(factories.SAMPLE_DATA)
    return [factories.make_event(kinds[i % len(kinds)], event_id=f"{prefix}-{i}") for i in range(n)]


def _scalar(url: str, query: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _settled(url: str, expected: int, timeout: float = 600) -> tuple[float, float]:
    """When the event store first held `expected` rows, and when both queues were empty after that."""
    deadline = time.monotonic() + timeout
    stored_at = None
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if stored_at is None:
                (count,) = conn.execute("select count(*) from analytics_events").fetchone()  # type: ignore[misc]
                if count >= expected:
                    stored_at = time.monotonic()
            if stored_at is not None:
                (waiting,) = conn.execute(  # type: ignore[misc]
                    "select (select count(*) from pgmq.q_ingest) + (select count(*) from pgmq.q_aggregate)"
                ).fetchone()
                if not waiting:
                    return stored_at, time.monotonic()
            time.sleep(0.01)
    raise TimeoutError(f"{expected} events were not stored and counted in time")


def send_all(
    url: str, ingest_url: str, key: str, sample: list[dict[str, Any]], batch: int, senders: int
) -> dict[str, Any]:
    """Post the sample in bodies of `batch` from `senders` threads; events/s to the last answer, to the last
    stored row and to the last event counted (equal for the peer, which answers after counting)."""
    bodies = [json.dumps({"events": sample[i : i + batch]}) for i in range(0, len(sample), batch)]
    before = _scalar(url, "select count(*) from analytics_events")
    local = threading.local()
    latencies: list[float] = []
    failed: list[int] = []

    def post(body: str) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        t0 = time.perf_counter()
        answer = session.post(
            ingest_url + "/v1/events",
            data=body,
            timeout=120,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        latencies.append(time.perf_counter() - t0)
        if answer.status_code != 202:
            failed.append(answer.status_code)

    start = time.monotonic()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(post, bodies))
    answered = time.monotonic()
    lost = len(failed) * batch
    stored, counted = _settled(url, before + len(sample) - lost)
    total = len(sample)
    return {
        "batch": batch,
        "senders": senders,
        "events": total,
        "failed_requests": len(failed),
        "failed_statuses": sorted(set(failed)),
        "answered_eps": total / (answered - start),
        "stored_eps": total / (stored - start),
        "counted_eps": total / (counted - start),
        "request_p50_ms": statistics.median(latencies) * 1000,
        "request_p99_ms": sorted(latencies)[int(0.99 * (len(latencies) - 1))] * 1000,
    }


def rollup_totals(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("select metric, sum(events) from analytics_rollups group by 1 order by 1").fetchall()
    return {str(m): int(n) for m, n in rows}


def dashboard(url: str, read_key: str, cold: int) -> dict[str, dict[str, float]]:
    """Each of the dashboard's questions, cold (answer cache cleared), p50 and p99 in ms."""
    from functions_framework import create_app

    from bench import api
    from shared.dashboard import answercache

    os.environ["DATABASE_URL"] = url
    settings.clear_cache()
    app = create_app(target="dashboard", source=str(ROOT / "functions/dashboard/main.py")).test_client()
    figures = {}
    for label, path, params, _ in api.QUESTIONS:
        times = []
        for _ in range(cold + 1):
            answercache.cache.clear()
            t0 = time.perf_counter()
            answer = app.get(path, query_string=params, headers={"Authorization": f"Bearer {read_key}"})
            times.append((time.perf_counter() - t0) * 1000)
            assert answer.status_code == 200, answer.json
        times = sorted(times[1:])  # the first warms the process
        figures[label] = {"cold_p50_ms": statistics.median(times), "cold_p99_ms": times[int(0.99 * (len(times) - 1))]}
    return figures


def _database(server: str, name: str) -> str:
    from shared.core import migrations

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    url = conninfo.make_conninfo(server, dbname=name)
    migrations.migrate(url)
    return url


def _start(design: str, url: str) -> tuple[Any, str]:
    """The running design (something with `stop()`) and its ingest URL."""
    from shared.tools import deployment, runner

    if design == "ours":
        spec = deployment.load()
        keep = ("ingest", "validate", "aggregate", "refresh")
        spec = spec.model_copy(update={"functions": {n: spec.functions[n] for n in keep}})
        pipeline = runner.start(url, spec=spec, poll_seconds=1.0)
        return pipeline, pipeline.url("ingest")
    spec_fn = deployment.Function.model_validate(
        {"source": "bench/peer.py", "entry_point": "peer_ingest", "trigger": {"kind": "http"}}
    )
    fn = runner.start_function("peer", spec_fn, url, runner.free_port())
    runner.wait_ready(fn)
    return fn, fn.url


def run_design(design: str, url: str, org: Any, args: argparse.Namespace) -> dict[str, Any]:
    from bench import freshness
    from bench import watcher as poller

    running, ingest_url = _start(design, url)
    figures: dict[str, Any] = {}
    try:
        n100, n1 = int(20_000 * args.scale), int(2_000 * args.scale)
        for batch, senders, n in ((100, 1, n100), (100, 8, n100), (1, 8, n1)):
            sample = _events(n, f"b{batch}-s{senders}")
            figures[f"batch_{batch}_senders_{senders}"] = result = send_all(
                url, ingest_url, org.ingest_key, sample, batch, senders
            )
            print(design, json.dumps(result), flush=True)
        figures["rollups"] = rollup_totals(url)
        watcher = poller.Watcher(url, org.id)
        watcher.start()
        try:
            for rate in args.rates:
                watcher.max_depth = {"ingest": 0, "aggregate": 0}
                result = freshness.run_load(ingest_url, org.ingest_key, watcher, rate, args.seconds, max(1, rate // 20))
                figures[f"freshness_{rate}"] = result
                print(design, json.dumps(result), flush=True)
        finally:
            watcher.stop.set()
    finally:
        running.stop()
    return figures


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the event counts")
    parser.add_argument("--rates", type=int, nargs="+", default=[1000, 5000], help="freshness loads, events/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each freshness load")
    parser.add_argument("--cold", type=int, default=20, help="cold requests per dashboard question")
    record.add_argument(parser)
    return parser


def _table(results: dict[str, dict[str, Any]]) -> None:
    print("| measure | trigger design (peer) | our pipeline |\n|---|---|---|")
    for key in ("batch_100_senders_1", "batch_100_senders_8", "batch_1_senders_8"):
        p, o = results["peer"][key], results["ours"][key]
        print(
            f"| {key}: events/s to the last answer / stored / counted | {p['answered_eps']:,.0f} "
            f"({p['failed_requests']} failed) | {o['answered_eps']:,.0f} / {o['stored_eps']:,.0f} / "
            f"{o['counted_eps']:,.0f} ({o['failed_requests']} failed) |"
        )
        print(
            f"| {key}: request p50 / p99 ms | {p['request_p50_ms']:.0f} / {p['request_p99_ms']:.0f} | "
            f"{o['request_p50_ms']:.0f} / {o['request_p99_ms']:.0f} |"
        )
    for key in (k for k in results["peer"] if k.startswith("freshness_")):
        p, o = results["peer"][key], results["ours"][key]
        print(
            f"| {key}: answer to rollup p50 / p99 ms (achieved ev/s) | {p['p50'] * 1000:.0f} / "
            f"{p['p99'] * 1000:.0f} ({p['achieved']}) | {o['p50'] * 1000:.0f} / {o['p99'] * 1000:.0f} "
            f"({o['achieved']}) |"
        )
    for label, p in results["peer"]["dashboard"].items():
        o = results["ours"]["dashboard"][label]
        print(
            f"| dashboard {label}: cold p50 / p99 ms | {p['cold_p50_ms']:.1f} / {p['cold_p99_ms']:.1f} | "
            f"{o['cold_p50_ms']:.1f} / {o['cold_p99_ms']:.1f} |"
        )


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    started = record.start()
    server = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    # The peer has no per-key limits; ours must not shed the measured load either.
    os.environ.update({"INGEST_RATE_PER_SECOND": "0", "DASHBOARD_RATE_PER_SECOND": "0"})
    names = {design: f"wsa_peer_{design}_{uuid.uuid4().hex[:6]}" for design in ("peer", "ours")}
    results: dict[str, dict[str, Any]] = {}
    try:
        for design, name in names.items():
            url = _database(server, name)
            if design == "peer":
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute((ROOT / "bench/peer.sql").read_text())
            with db.transaction(url) as conn:
                org = organizations.create(
                    conn, organizations.NewOrganization(name="Bench", timezone="Europe/London", currency="GBP")
                )
            results[design] = run_design(design, url, org, args)
            results[design]["dashboard"] = dashboard(url, org.read_key, args.cold)
        same = results["peer"]["rollups"] == results["ours"]["rollups"]
        print(f"same rollups from the same events: {same}")
        _table(results)
    finally:
        db.close_pools()
        with psycopg.connect(server, autocommit=True) as conn:
            for name in names.values():
                conn.execute(f"drop database if exists {name} with (force)")
    results["same_rollups"] = {"equal": same}
    record.write("peer", args, results, database_url=server, started=started, path=args.json)


if __name__ == "__main__":
    main()
