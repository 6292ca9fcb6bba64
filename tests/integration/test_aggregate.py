"""Aggregate folds every stored event into the rollups exactly once: versions and notices, retries, two workers,
poisoned messages, currencies, DST, and who may call it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.aggregate import aggregation
from shared.catalog import events
from shared.core import db, errors, settings
from shared.metrics import rollups
from shared.refresh import views as refresh
from tests import factories, notices, pipeline


def test_every_event_type_is_rolled_up_once_with_a_version_bump_and_a_change_notice(
    ingest_app: Any,
    aggregate_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    database_url: str,
) -> None:
    org = make_org(timezone="Asia/Kathmandu", currency="NPR")
    pipeline.post_events(ingest_app, org.ingest_key, [factories.make_event(t) for t in events.EVENT_TYPES])
    pipeline.validate_all()
    with notices.collecting(database_url) as published:
        answer = aggregate_app.post("/")
        assert answer.status_code == 200
        assert answer.json == {
            "messages": 1,
            "events": len(events.EVENT_TYPES),
            "organizations": 1,
            "dead_messages": 0,
            "deferred": 0,
            "more": False,
        }
        heard = published(org.id, 2)
    assert len(heard) == 1
    assert heard[0]["organization_id"] == str(org.id) and heard[0]["events"] == len(events.EVENT_TYPES)
    # The funnel is live state written in this same transaction: no view waits for a refresh.
    assert heard[0]["data_version"] == 1 and heard[0]["views_pending"] is False
    counted = pipeline.rollup_events(conn, org.id)
    # Every type once; a review gives a rating and an nps fact, a booking also its wedding-month fact.
    assert sum(counted.values()) == len(events.EVENT_TYPES) + 2
    assert conn.execute("select data_version from organizations where id = %s", (org.id,)).fetchone() == (1,)
    assert pipeline.queue_length(conn, "aggregate") == 0
    assert aggregate_app.post("/").json["messages"] == 0
    assert sum(pipeline.rollup_events(conn, org.id).values()) == sum(counted.values())


def test_a_batch_that_fails_before_commit_is_counted_exactly_once_when_retried(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    pipeline.post_events(
        ingest_app,
        org.ingest_key,
        [factories.make_event("payment.succeeded", payment_id=f"p-{i}") for i in range(7)],
    )
    pipeline.validate_all()

    class Crash(Exception):
        pass

    with pytest.raises(Crash), db.transaction() as c:
        batch = aggregation._read(c)
        aggregation._finish(c, batch)
        raise Crash  # the process dies after the upsert, before the commit
    assert pipeline.rollup_events(conn, org.id) == {}
    totals, more = aggregation.drain(db.transaction)
    assert (totals.events, more) == (7, False)
    assert pipeline.rollup_events(conn, org.id) == {"payment.succeeded": 7}
    assert conn.execute(
        "select sum(amount_minor)::int from analytics_rollups where organization_id = %s", (org.id,)
    ).fetchone() == (7 * 80000,)


def test_two_workers_draining_one_queue_at_once_count_every_event_exactly_once(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orgs = [make_org(name=f"Studio {i}") for i in range(3)]
    moment = datetime.now(UTC) - timedelta(hours=2)
    sent = 0
    for round_ in range(12):
        for org in orgs:
            # The same few rollup keys over and over, so both workers fight over the same rows.
            batch = [
                factories.make_event(
                    "payment.succeeded",
                    event_id=f"e-{round_}-{i}",
                    occurred_at=moment,
                    payment_id=f"p-{i}",
                    kind=("deposit", "balance")[i % 2],
                )
                for i in range(10)
            ]
            pipeline.post_events(ingest_app, org.ingest_key, batch)
            pipeline.validate_all()  # one aggregate message per post
            sent += len(batch)
    monkeypatch.setenv("AGGREGATE_BATCH_SIZE", "2")
    monkeypatch.setenv("AGGREGATE_DEEP_READ_EVENTS", "40")  # deep reads of 2 + 2 messages: the workers interleave
    settings.clear_cache()
    assert pipeline.queue_length(conn, "aggregate") == 36
    failures: list[BaseException] = []
    done: list[int] = []

    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait(10)
            totals, _ = aggregation.drain(db.transaction, budget=timedelta(seconds=60))
            done.append(totals.events)
        except BaseException as exc:  # reported to the test thread
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    assert sum(done) == sent and all(done)  # both workers did part of the work
    for org in orgs:
        rows = conn.execute(
            "select dim1, events, amount_minor from analytics_rollups where organization_id = %s "
            "and metric = 'payment.succeeded' order by dim1",
            (org.id,),
        ).fetchall()
        assert rows == [("balance", 60, 60 * 80000), ("deposit", 60, 60 * 80000)]
    assert conn.execute("select sum(data_version)::int from organizations").fetchone()[0] >= 3  # type: ignore[index]


def test_a_poisoned_message_is_dead_lettered_and_the_rest_of_its_batch_is_counted(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    pipeline.post_events(ingest_app, org.ingest_key, [factories.make_event("app.action")])
    pipeline.validate_all()
    conn.execute("select pgmq.send('aggregate', %s::jsonb)", (json.dumps({"organization_id": "nope"}),))
    totals, _ = aggregation.drain(db.transaction)
    assert (totals.messages, totals.events, totals.dead_messages) == (2, 1, 1)
    letter = conn.execute("select stage, reasons from analytics_dead_letters").fetchone()
    assert letter is not None and letter[0] == "aggregate" and letter[1][0]["type"] == "bad_message"
    assert pipeline.rollup_events(conn, org.id) == {"app.action": 1}


def test_hourly_series_keeps_a_repeated_dst_hour_apart_and_days_split_at_local_midnight(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    johns = make_org(timezone="America/St_Johns", currency="CAD")
    # 2026-11-01: St. John's falls back from -02:30 to -03:30 at 02:00; 01:30 local happens twice.
    first, second = datetime(2026, 11, 1, 4, 0, tzinfo=UTC), datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    pipeline.post_events(
        ingest_app,
        johns.ingest_key,
        [
            factories.make_event("app.action", occurred_at=first),
            factories.make_event("app.action", occurred_at=second),
        ],
    )
    kathmandu = make_org(timezone="Asia/Kathmandu", currency="NPR")
    # 18:15 UTC is local midnight in Kathmandu (+05:45).
    pipeline.post_events(
        ingest_app,
        kathmandu.ingest_key,
        [
            factories.make_event("app.action", occurred_at=datetime(2026, 11, 2, 18, 14, tzinfo=UTC)),
            factories.make_event("app.action", occurred_at=datetime(2026, 11, 2, 18, 15, tzinfo=UTC)),
        ],
    )
    pipeline.validate_all()
    aggregation.drain(db.transaction)
    hours = (
        rollups.timeseries(
            conn,
            johns.id,
            "app_actions",
            "hour",
            datetime(2026, 11, 1, 3, 30, tzinfo=UTC),
            datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
        )
        .series[0]
        .points
    )
    assert [(p.start.isoformat(), p.value) for p in hours] == [
        ("2026-11-01T01:00:00-02:30", 1),
        ("2026-11-01T01:00:00-03:30", 1),
        ("2026-11-01T02:00:00-03:30", 0),
    ]
    days = (
        rollups.timeseries(
            conn,
            kathmandu.id,
            "app_actions",
            "day",
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 11, 4, tzinfo=UTC),
        )
        .series[0]
        .points
    )
    assert [(p.start.date().isoformat(), p.value) for p in days] == [
        ("2026-11-01", 0),
        ("2026-11-02", 1),
        ("2026-11-03", 1),
        ("2026-11-04", 0),
    ]


def test_money_is_never_summed_across_currencies_and_bad_breakdowns_are_refused(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org(currency="GBP")
    pipeline.post_events(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event("payment.succeeded", payment_id="p-1", amount_minor=1000, currency="GBP"),
            factories.make_event("payment.succeeded", payment_id="p-2", amount_minor=500, currency="EUR"),
            factories.make_event("payment.refunded", amount_minor=200, currency="EUR"),
        ],
    )
    pipeline.validate_all()
    aggregation.drain(db.transaction)
    start, end = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC)
    net = rollups.totals(conn, org.id, start, end).metrics["revenue_net"]
    assert sorted((v.currency, v.value) for v in net) == [("EUR", 300), ("GBP", 1000)]
    series = rollups.timeseries(conn, org.id, "revenue_gross", "day", start, end).series
    assert sorted(s.currency or "" for s in series) == ["EUR", "GBP"]
    kinds = rollups.breakdown(conn, org.id, "revenue_gross", "currency", start, end).rows
    assert [(r.key, r.value) for r in kinds] == [("GBP", 1000), ("EUR", 500)]
    with pytest.raises(errors.InvalidInput, match="allowed: currency, kind, method"):
        rollups.breakdown(conn, org.id, "revenue_gross", "template", start, end)
    with pytest.raises(errors.InvalidInput, match="unknown metric"):
        rollups.timeseries(conn, org.id, "revenue", "day", start, end)


def test_signed_in_users_read_only_their_organizations_numbers_and_cannot_run_pipeline_functions(
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    for org in (mine, theirs):
        pipeline.post_events(ingest_app, org.ingest_key, [factories.make_event("inquiry.received")])
    pipeline.validate_all()
    aggregation.drain(db.transaction)
    refresh.run(db.transaction, force=True)
    with conn.transaction():
        conn.execute("set local role authenticated")
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)",
            (json.dumps({"organization_id": str(mine.id)}),),
        )
        assert {r[0] for r in conn.execute("select organization_id from analytics_rollups")} == {mine.id}
        assert {r[0] for r in conn.execute("select organization_id from analytics_client_funnel")} == {mine.id}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from analytics_client_funnel_mv")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
        conn.execute("set local role authenticated")
        conn.execute("select * from analytics_rebuild_v1(%s, now() - interval '1 day', now())", (theirs.id,))


def test_aggregate_refuses_callers_without_the_invoke_secret(
    aggregate_app: Any,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INVOKE_SECRET", "s3cret")
    settings.clear_cache()
    refused = aggregate_app.post("/")
    assert refused.status_code == 401 and refused.json["error"] == "unauthorized"
    allowed = aggregate_app.post("/", headers={"Authorization": "Bearer s3cret"})
    assert allowed.status_code == 200 and allowed.json["more"] is False


def test_a_message_the_database_refuses_is_dead_lettered_alone_and_the_rest_is_counted(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    pipeline.post_events(ingest_app, org.ingest_key, [factories.make_event("form.started")])
    pipeline.validate_all()
    now = datetime.now(UTC).isoformat()
    refused = {"organization_id": str(org.id), "ids": [2**63], "occurred_from": now, "occurred_to": now}
    conn.execute("select pgmq.send('aggregate', %s::jsonb)", (json.dumps(refused),))
    totals, _ = aggregation.drain(db.transaction)
    assert (totals.messages, totals.events, totals.dead_messages) == (2, 1, 1)
    letter = conn.execute("select reasons, payload from analytics_dead_letters where stage = 'aggregate'").fetchone()
    assert letter is not None and letter[0][0]["type"] == "aggregate_failed"
    assert "bigint" in letter[0][0]["msg"]
    assert letter[1]["ids"] == [2**63]
    assert pipeline.rollup_events(conn, org.id) == {"form.started": 1}
    assert pipeline.queue_length(conn, "aggregate") == 0
