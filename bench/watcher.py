"""The freshness bench's poller: when each request's events became visible in the rollups, how deep the queues
got, and what the server did meanwhile (bench/freshness.py)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime
from typing import Any

import psycopg


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# The poller's own load is kept small: until 2026-11-30 it asked for both queues' depth and the rollups every 5 ms,
# which cost PostgreSQL about a sixth of a core at 10,000 events/s (pg_stat_statements), on the cores measured.
POLL_EVERY = 0.01  # seconds between looks at the rollups: the resolution of a freshness figure
DEPTH_EVERY = 0.1  # seconds between queue depth samples


class Watcher(threading.Thread):
    """Polls the rollups for the batches posted so far and records when each first became visible."""

    def __init__(self, url: str, org: uuid.UUID) -> None:
        super().__init__(daemon=True)
        self.url, self.org = url, org
        self.accepted: dict[str, float] = {}
        self.visible: dict[str, float] = {}
        self.occurred: dict[str, datetime] = {}  # when each request's marker event occurred (its rollup bucket)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.max_depth: dict[str, int] = {"ingest": 0, "aggregate": 0}
        # (monotonic time, ingest depth, aggregate depth), every DEPTH_EVERY seconds: when a backlog starts.
        self.depths: list[tuple[float, int, int]] = []

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True, application_name="bench-poller") as conn:
            while not self.stop.is_set():
                with self.lock:
                    waiting = [k for k in self.accepted if k not in self.visible]
                if waiting:
                    # One primary-key probe per waiting request (its marker's bucket and action): the cost follows
                    # what is waiting, not how many requests the run has made so far (a scan of every marker row
                    # of the last minutes, polled 100 times a second, grew into a large share of a core).
                    rows = conn.execute(
                        "select w.d from unnest(%s::timestamptz[], %s::text[]) as w(t, d) where exists ("
                        "select from analytics_rollups r where r.organization_id = %s and r.metric = 'app.action' "
                        "and r.bucket = analytics_bucket_v1(w.t) and r.dim1 = w.d)",
                        ([self.occurred[k] for k in waiting], waiting, self.org),
                    ).fetchall()
                    now = time.monotonic()
                    with self.lock:
                        for (key,) in rows:
                            self.visible.setdefault(key, now)
                if not self.depths or time.monotonic() - self.depths[-1][0] >= DEPTH_EVERY:
                    sample = {}
                    for queue in self.max_depth:
                        depth = conn.execute("select queue_length from pgmq.metrics(%s)", (queue,)).fetchone()
                        sample[queue] = int(depth[0]) if depth else 0
                        self.max_depth[queue] = max(self.max_depth[queue], sample[queue])
                    self.depths.append((time.monotonic(), sample["ingest"], sample["aggregate"]))
                time.sleep(POLL_EVERY)


def server_counters(url: str) -> dict[str, int]:
    """The cluster's WAL position and checkpoint counters (cluster-wide: meaningful on a server nothing else loads)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select pg_current_wal_insert_lsn() - '0/0'::pg_lsn, checkpoints_timed, checkpoints_req "
            "from pg_stat_bgwriter"
        ).fetchone()
    assert row is not None
    return {"wal": int(row[0]), "timed": int(row[1]), "requested": int(row[2])}


def timeline(
    start: float, seconds: float, latencies: list[tuple[float, float | None]], watcher: Watcher, step: float = 5.0
) -> list[dict[str, Any]]:
    """Per `step` seconds of the load, by when requests were answered: how many, their p99 freshness, and the
    deepest each queue got: shows when a backlog starts, not only that there was one."""
    windows = []
    t = 0.0
    while t < seconds:
        lo, hi = start + t, start + t + step
        lat = [v - a for a, v in latencies if lo <= a < hi and v is not None]
        depths = [(i, g) for at, i, g in watcher.depths if lo <= at < hi]
        windows.append(
            {
                "from_second": t,
                "requests": len(lat),
                "p99_ms": round(percentile(lat, 0.99) * 1000) if lat else None,
                "max_depth_ingest": max((i for i, _ in depths), default=0),
                "max_depth_aggregate": max((g for _, g in depths), default=0),
            }
        )
        t += step
    return windows
