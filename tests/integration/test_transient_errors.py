"""Transient failures stay queued and are retried; only content the database refuses is dead-lettered; aggregate
dead letters replay and count once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from shared.aggregate import aggregation, recovery
from shared.core import db, errors
from shared.validate import replay, validation
from tests import factories


def _post(app: Any, key: str, events: list[dict[str, Any]]) -> None:
    answer = app.post(
        "/v1/events",
        data=json.dumps({"events": events}),
        headers={"Authorization": f"Bearer {key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.json


def _count(conn: psycopg.Connection[Any], sql: str) -> int:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def _rolled_up(conn: psycopg.Connection[Any], org_id: Any) -> int:
    return _count(conn, f"select coalesce(sum(events), 0) from analytics_rollups where organization_id = '{org_id}'")


def test_a_table_missing_mid_deploy_leaves_the_batch_queued_and_a_later_drain_stores_it_once(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    _post(ingest_app, org.ingest_key, [factories.make_event("app.action") for _ in range(3)])
    conn.execute("alter table analytics_event_keys rename to analytics_event_keys_moved")
    with pytest.raises(errors.PipelineError) as raised:
        validation.drain(db.transaction)
    assert raised.value.transient
    assert _count(conn, "select count(*) from pgmq.q_ingest") == 1
    assert _count(conn, "select max(read_ct) from pgmq.q_ingest") == 0  # the failed attempt did not count
    assert _count(conn, "select count(*) from analytics_dead_letters") == 0
    conn.execute("alter table analytics_event_keys_moved rename to analytics_event_keys")
    totals, more = validation.drain(db.transaction)
    assert (totals.stored, totals.rejected, more) == (3, 0, False)
    assert _count(conn, "select count(*) from analytics_events") == 3
    assert _count(conn, "select count(*) from pgmq.q_ingest") == 0


def test_a_transient_error_in_the_per_message_fallback_leaves_that_message_queued_not_dead_lettered(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    _post(ingest_app, org.ingest_key, [factories.make_event("form.started")])
    validation.drain(db.transaction)
    now = "2026-11-01T00:00:00+00:00"
    refused = {"organization_id": str(org.id), "ids": [2**63], "occurred_from": now, "occurred_to": now}
    conn.execute("select pgmq.send('aggregate', %s::jsonb)", (json.dumps(refused),))
    # The refused message sends the batch to the fallback; there the good one meets a function gone mid-deploy.
    conn.execute("alter function analytics_aggregate_events_v1(bigint[], timestamptz, timestamptz) rename to moved_v1")
    try:
        totals, _ = aggregation.drain(db.transaction)
    except errors.PipelineError as exc:  # the whole batch met it first: also transient, also left queued
        assert exc.transient
    else:
        assert totals.dead_messages == 0 and totals.deferred >= 1
    assert (
        _count(conn, "select count(*) from analytics_dead_letters where reasons->0->>'type' <> 'aggregate_failed'") == 0
    )
    assert (
        _count(conn, "select count(*) from pgmq.q_aggregate where not (message->'ids' @> '[9223372036854775808]')") == 1
    )
    conn.execute("alter function moved_v1(bigint[], timestamptz, timestamptz) rename to analytics_aggregate_events_v1")
    conn.execute("update pgmq.q_aggregate set vt = now()")  # the visibility timeout, without the wait
    aggregation.drain(db.transaction)
    assert _rolled_up(conn, org.id) == 1
    assert _count(conn, "select count(*) from pgmq.q_aggregate") == 0


def test_an_aggregate_dead_letter_replayed_after_the_fix_counts_once_even_after_a_rebuild(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    _post(ingest_app, org.ingest_key, [factories.make_event("app.action") for _ in range(2)])
    validation.drain(db.transaction)
    conn.execute("update pgmq.q_aggregate set read_ct = 99")  # read too often: dead-lettered as retry_limit
    totals, _ = aggregation.drain(db.transaction)
    assert totals.dead_messages == 1 and _rolled_up(conn, org.id) == 0
    window = conn.execute("select min(occurred_at), max(occurred_at) from analytics_events").fetchone()
    assert window is not None
    with db.transaction() as tx:  # a rebuild in between leaves the letter's events to the replay
        recovery.rebuild(tx, org.id, window[0], window[1] + timedelta(hours=1))
    assert _rolled_up(conn, org.id) == 0
    for _ in range(2):  # the second replay finds nothing replayable
        with db.transaction() as tx:
            replay.replay(tx, replay.LetterFilter(organization_id=org.id, stage="aggregate"))
        aggregation.drain(db.transaction)
    assert _rolled_up(conn, org.id) == 2
    state = conn.execute("select replay_state from analytics_dead_letters where stage = 'aggregate'").fetchall()
    assert state == [("replayed",)]
    with db.transaction() as tx:
        assert recovery.reconcile(tx, org.id, window[0], window[1] + timedelta(hours=1)) == []
