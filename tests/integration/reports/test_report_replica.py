"""A report's numbers read from a real streaming replica (DATABASE_READ_URL); its rows written on the primary."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from shared import report as reports
from shared.core import db, replica, settings
from tests import factories
from tests.integration.reports.support import LONDON_NOW, WEEK, load
from tests.replica import StreamingReplica


def _inquiries(rec: Any) -> int:
    return int(next(h for h in rec.summary["headline"] if h["key"] == "inquiries")["value"])


def _vouched_for() -> None:
    """Until this process has seen the replica pass a position of the primary (it then serves within the bound)."""
    deadline = time.monotonic() + 60
    while True:
        with replica.snapshot() as snap:
            if snap.source == "replica":
                return
        assert time.monotonic() < deadline, "the replica never served"
        time.sleep(0.05)


def test_report_numbers_come_from_the_replica_and_its_rows_from_the_primary(
    report_env: None,
    business: Callable[..., Any],
    read_replica: StreamingReplica,
    ingest_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_READ_MAX_LAG_SECONDS", "3600")
    settings.clear_cache()
    org = business(tz="Europe/London")
    read_replica.wait_caught_up()
    _vouched_for()
    read_replica.pause()
    late = [
        factories.make_event(
            "inquiry.received", event_id=f"late-{i}", client_id=f"late-{i}", occurred_at="2026-11-11T10:00:00+00:00"
        )
        for i in range(4)
    ]
    load(ingest_app, org.ingest_key, late)  # on the primary only, while the replica stands still
    # The report is claimed, stored and recorded on the primary (the replica is read-only: a write there would
    # fail), and its numbers are the replica's: without the late inquiries.
    rec = reports.generate(db.transaction, org.id, "weekly", WEEK, deliver=False, now=LONDON_NOW)
    assert rec.status == "stored"
    assert _inquiries(rec) == 3
    assert replica.counts().get("replica", 0) >= 2
    read_replica.resume()
    read_replica.wait_caught_up()
    again = reports.generate(db.transaction, org.id, "weekly", WEEK, deliver=False, regenerate=True, now=LONDON_NOW)
    assert _inquiries(again) == 3 + 4
    monkeypatch.delenv("DATABASE_READ_URL")
    settings.clear_cache()
    primary = reports.generate(db.transaction, org.id, "weekly", WEEK, deliver=False, regenerate=True, now=LONDON_NOW)
    assert primary.summary == again.summary
