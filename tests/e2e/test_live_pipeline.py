"""The real local pipeline over HTTP: from the 202 of ingest to the rollups, notice and debounced refresh."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests

from shared import metrics, runner
from tests import factories

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
        with psycopg.connect(database_url, autocommit=True) as listener:
            listener.execute("listen analytics_changes")
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
            notices = [json.loads(n.payload) for n in listener.notifies(timeout=15, stop_after=1)]
        assert notices and notices[0]["organization_id"] == str(org.id) and notices[0]["events"] == 3
        start, end = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC)
        revenue = metrics.revenue(conn, org.id, start, end)
        assert [(r.currency, r.gross_minor, r.by_kind_minor) for r in revenue] == [
            ("INR", 125000, {"deposit": 125000})
        ]
        # The debounced refresh follows on its own: the funnel shows the booking within seconds.
        assert _wait(lambda: metrics.funnel(conn, org.id, start, end).stages[1].clients == 1, 20)
        assert all(not f.pending for f in metrics.freshness(conn, org.id))
    finally:
        pipeline.stop()
