"""Recovery of what aggregate builds: reconcile and rebuild any window against the raw events (while events flow
too), the CLI for both, and the funnel state that needs no refresh."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.aggregate import aggregation, recovery
from shared.core import db
from shared.metrics import funnels
from tests import factories, pipeline


def test_reconcile_reports_a_damaged_rollup_and_rebuild_repairs_it(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org(timezone="America/St_Johns", currency="CAD")
    pipeline.post_events(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event("payment.succeeded"),
            factories.make_event("inquiry.received", client_id="c-9"),
        ],
    )
    pipeline.validate_all()
    aggregation.drain(db.transaction)
    start, end = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC)
    with db.transaction() as c:
        assert recovery.reconcile(c, org.id, start, end) == []
    conn.execute(
        "update analytics_rollups set amount_minor = amount_minor + 1 where organization_id = %s "
        "and metric = 'payment.succeeded'",
        (org.id,),
    )
    conn.execute("delete from analytics_active_clients where organization_id = %s and client_id = 'c-9'", (org.id,))
    with db.transaction() as c:
        found = recovery.reconcile(c, org.id, start, end)
    # Only the damaged tier is reported: the daily tier still agrees with the raw events.
    assert {(m.kind, m.metric) for m in found} == {("rollup", "payment.succeeded"), ("active_client", None)}
    money = next(m for m in found if m.kind == "rollup")
    assert (money.expected_amount_minor, money.actual_amount_minor) == (80000, 80001)
    with db.transaction() as c:
        result = recovery.rebuild(c, org.id, start, end)
    assert result.rows_written == result.rows_deleted and result.clients_written >= 1
    with db.transaction() as c:
        assert recovery.reconcile(c, org.id, start, end) == []


def test_rebuild_while_events_still_wait_for_aggregate_counts_them_once(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    pipeline.post_events(ingest_app, org.ingest_key, [factories.make_event("inquiry.received") for _ in range(3)])
    pipeline.validate_all()
    aggregation.drain(db.transaction)
    pipeline.post_events(ingest_app, org.ingest_key, [factories.make_event("inquiry.received") for _ in range(2)])
    pipeline.validate_all()  # two more stored, their message waits on the aggregate queue
    start, end = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC)
    with db.transaction() as c:
        assert recovery.reconcile(c, org.id, start, end) == []
        recovery.rebuild(c, org.id, start, end)
    assert pipeline.rollup_events(conn, org.id) == {"inquiry.received": 3}
    aggregation.drain(db.transaction)
    assert pipeline.rollup_events(conn, org.id) == {"inquiry.received": 5}


def test_funnel_events_are_in_the_funnel_when_aggregate_commits_with_no_refresh_queued(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    now = datetime.now(UTC)
    events = [
        factories.make_event("inquiry.received", client_id=f"c-{i}", occurred_at=now - timedelta(hours=3 - i))
        for i in range(3)
    ]
    events.append(factories.make_event("booking.confirmed", client_id="c-1", booking_id="b-1", occurred_at=now))
    for event in events:
        pipeline.post_events(ingest_app, org.ingest_key, [event])
        pipeline.validate_all()
        aggregation.drain(db.transaction)
    assert pipeline.queue_length(conn, "refresh") == 0
    with db.transaction() as c:
        funnel = funnels.funnel(c, org.id, now - timedelta(days=1), now + timedelta(minutes=1))
        assert funnels.freshness(c, org.id) == []  # no view is left to go stale
    assert [s.clients for s in funnel.stages][:2] == [3, 1]


def test_rebuild_and_reconcile_while_events_flow_never_lose_or_double_count(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org(timezone="Australia/Adelaide", currency="AUD")
    start, end = datetime.now(UTC) - timedelta(days=2), datetime.now(UTC) + timedelta(hours=1)
    stop = threading.Event()
    seen: list[int] = []
    failures: list[BaseException] = []

    def recover() -> None:
        try:
            while not stop.is_set():
                with db.transaction() as c:
                    recovery.rebuild(c, org.id, start, end)
                with db.transaction() as c:
                    seen.append(len(recovery.reconcile(c, org.id, start, end)))
        except BaseException as exc:  # reported to the test thread
            failures.append(exc)

    thread = threading.Thread(target=recover)
    thread.start()
    sent = 0
    try:
        for round_ in range(15):
            batch = [
                factories.make_event(
                    "payment.succeeded",
                    event_id=f"e-{round_}-{i}",
                    payment_id=f"p-{i}",
                    occurred_at=datetime.now(UTC) - timedelta(minutes=17 * i),
                )
                for i in range(8)
            ]
            pipeline.post_events(ingest_app, org.ingest_key, batch)
            sent += len(batch)
            pipeline.validate_all()
            aggregation.drain(db.transaction)
    finally:
        stop.set()
        thread.join(60)
    assert failures == []
    assert seen and set(seen) == {0}  # every reconcile, mid-flow, found the rollups exact
    assert pipeline.rollup_events(conn, org.id) == {"payment.succeeded": sent}
    with db.transaction() as c:
        assert recovery.reconcile(c, org.id, start, end) == []


def test_cli_reconcile_and_rebuild_report_and_repair(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shared.tools import cli

    org = make_org()
    pipeline.post_events(ingest_app, org.ingest_key, [factories.make_event("email.opened")])
    pipeline.validate_all()
    aggregation.drain(db.transaction)
    conn.execute("delete from analytics_rollups where organization_id = %s", (org.id,))
    window = [
        "--org",
        str(org.id),
        "--from",
        (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "--to",
        datetime.now(UTC).isoformat(),
    ]
    assert cli.main(["reconcile", *window]) == 1
    assert "email.opened" in capsys.readouterr().out
    assert cli.main(["rebuild", *window, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows_written"] == 1
    assert cli.main(["reconcile", *window]) == 0
    assert "match" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["rebuild", "--org", str(org.id), "--from", "2026-11-01T00:00:00", "--to", "2026-11-02T00:00:00Z"])
    assert "needs a UTC offset" in capsys.readouterr().err
