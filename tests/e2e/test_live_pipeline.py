"""The real local pipeline over HTTP: from the 202 of ingest to the rollups, notice and debounced refresh."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests

from shared.core import db
from shared.metrics import funnels, rollups
from shared.tools import deployment, runner
from shared.validate import validation
from tests import factories, notices

pytestmark = pytest.mark.e2e


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_events_posted_to_ingest_reach_the_rollups_the_notice_and_the_views(
    database_url: str,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = make_org(timezone="Asia/Kolkata", currency="INR")
    pipeline = runner.start(database_url, poll_seconds=1.0, extra_env={"REFRESH_DEBOUNCE_SECONDS": "1"})
    try:
        with notices.collecting(database_url) as published:
            batch = [
                factories.make_event("inquiry.received", client_id="c-1"),
                factories.make_event("booking.confirmed", client_id="c-1", currency="INR"),
                factories.make_event("payment.succeeded", currency="INR", amount_minor=125000),
            ]
            answer = requests.post(
                pipeline.url("ingest") + "/v1/events",
                data=json.dumps({"events": batch}),
                headers={"Authorization": f"Bearer {org.ingest_key}", "Content-Type": "application/json"},
                timeout=10,
            )
            assert answer.status_code == 202
            heard = published(org.id, 15)
        assert heard and heard[0]["organization_id"] == str(org.id) and heard[0]["events"] == 3
        start, end = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC)
        revenue = rollups.revenue(conn, org.id, start, end)
        assert [(r.currency, r.gross_minor, r.by_kind_minor) for r in revenue] == [("INR", 125000, {"deposit": 125000})]
        # The debounced refresh follows on its own: the funnel shows the booking within seconds.
        assert _wait(lambda: funnels.funnel(conn, org.id, start, end).stages[1].clients == 1, 20)
        assert all(not f.pending for f in funnels.freshness(conn, org.id))
    finally:
        pipeline.stop()


def test_two_aggregate_processes_draining_one_queue_count_every_event_once(
    database_url: str, ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    """Two real function processes (as two instances in production), each invoked twice at the same time."""
    orgs = [make_org(name=f"Studio {i}") for i in range(2)]
    spec = deployment.load().functions["aggregate"]
    workers = [
        runner.start_function(
            f"aggregate-{i}",
            spec,
            database_url,
            runner.free_port(),
            # deep reads of 3 + 3 messages of 5 events: many small transactions, so the processes interleave
            {"AGGREGATE_BATCH_SIZE": "3", "AGGREGATE_DEEP_READ_EVENTS": "30"},
        )
        for i in range(2)
    ]
    try:
        for w in workers:
            runner.wait_ready(w)
        sent = 0
        for n in range(20):
            for org in orgs:
                batch = [
                    factories.make_event(
                        "payment.succeeded", event_id=f"e-{n}-{i}", payment_id=f"p-{i}", kind="deposit"
                    )
                    for i in range(5)
                ]
                answer = ingest_app.post(
                    "/v1/events",
                    data=json.dumps({"events": batch}),
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {org.ingest_key}"},
                )
                assert answer.status_code == 202
                assert not validation.drain(db.transaction)[1]
                sent += len(batch)
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda w: runner.invoke_until_drained(w.url + "/"), workers * 2))
        assert all(calls >= 1 for calls in answers)
        rows = conn.execute(
            "select organization_id, sum(events)::int from analytics_rollups "
            "where metric = 'payment.succeeded' group by 1"
        ).fetchall()
        assert sorted(n for _, n in rows) == [100, 100] and sum(n for _, n in rows) == sent
        assert conn.execute("select queue_length from pgmq.metrics('aggregate')").fetchone() == (0,)
    finally:
        for w in workers:
            w.process.terminate()
            w.process.wait(10)
