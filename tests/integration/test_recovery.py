"""Recovery and refresh of what aggregate builds: reconcile and rebuild any window against the raw events (while
events flow too), the CLI for both, and the debounced refresh of the views."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.aggregate import aggregation, recovery
from shared.core import db, settings
from shared.metrics import funnels
from shared.refresh import views as refresh
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


def test_changed_inputs_queue_one_debounced_refresh_and_the_refresher_clears_the_staleness(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    for i in range(3):
        pipeline.post_events(ingest_app, org.ingest_key, [factories.make_event("inquiry.received", client_id=f"c-{i}")])
        pipeline.validate_all()
        aggregation.drain(db.transaction)
    assert pipeline.queue_length(conn, "refresh") == 1  # three batches, one (delayed) refresh request
    with db.transaction() as c:
        stale = funnels.freshness(c, org.id)
    assert stale and all(v.pending and v.refreshed_at is None for v in stale)
    assert conn.execute("select count(*) from analytics_client_funnel_mv").fetchone() == (0,)
    version = conn.execute("select data_version from organizations where id = %s", (org.id,)).fetchone()
    assert version is not None
    outcome = refresh.run(db.transaction, force=True)
    assert outcome.refreshed[0] == "analytics_booking_facts_mv" and outcome.organizations == 1
    assert conn.execute("select data_version from organizations where id = %s", (org.id,)).fetchone() == (
        version[0] + 1,
    )  # the dashboard's cache key moves with the views
    with db.transaction() as c:
        fresh = funnels.freshness(c, org.id)
        assert (
            funnels.funnel(c, org.id, datetime.now(UTC) - timedelta(days=1), datetime.now(UTC)).stages[0].clients == 3
        )
    assert all(not v.pending and v.refreshed_at is not None and v.stale_seconds == 0 for v in fresh)
    assert refresh.run(db.transaction).refreshed == []  # nothing changed, the safety interval has not passed
    # Application actions are no input of the views: no refresh is requested for them.
    conn.execute("select pgmq.purge_queue('refresh')")
    pipeline.post_events(ingest_app, org.ingest_key, [factories.make_event("app.action")])
    pipeline.validate_all()
    aggregation.drain(db.transaction)
    assert pipeline.queue_length(conn, "refresh") == 0


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


def test_a_refresher_called_inside_the_debounce_period_waits_for_it_and_then_refreshes(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFRESH_DEBOUNCE_SECONDS", "1")
    settings.clear_cache()
    org = make_org()
    refresh.run(db.transaction, force=True)  # the views are fresh: the safety schedule is not due
    pipeline.post_events(ingest_app, org.ingest_key, [factories.make_event("inquiry.received", client_id="c-1")])
    pipeline.validate_all()
    aggregation.drain(db.transaction)
    # Called at once (as a trigger on the insert of the delayed message would): no visible message yet.
    outcome = refresh.run(db.transaction)
    assert outcome.reason == "inputs changed" and outcome.messages == 0
    assert outcome.refreshed and outcome.organizations == 1
    assert conn.execute(
        "select count(*) from analytics_client_funnel_mv where organization_id = %s", (org.id,)
    ).fetchone() == (1,)
    # The delayed message that asked for this refresh becomes visible later: a wake-up with nothing to do.
    conn.execute("select pgmq.purge_queue('refresh')")
    conn.execute("select pgmq.send('refresh', '{}'::jsonb)")
    late = refresh.run(db.transaction)
    assert (late.messages, late.refreshed) == (1, [])
