"""Retention fanned out per organization: the daily plan queues one message per organization, workers delete
each organization's expired rows and keys in batches, one transaction per batch, exactly what is due."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.core import db, settings
from shared.monitor import retention, retention_jobs
from tests.quality_helpers import store_events


def _queued(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("select message ->> 'organization_id' from pgmq.q_retention order by msg_id").fetchall()
    return [r[0] for r in rows]


def test_the_plan_queues_one_message_per_organization_and_a_second_plan_queues_none_while_they_wait(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    orgs = [make_org(retention_days=30) for _ in range(3)]
    for org in orgs:
        store_events(conn, org.id, occurred_at=datetime.now(UTC) - timedelta(days=45), n=2)
    first = retention.plan(db.transaction)
    assert sorted(_queued(conn)) == sorted(str(o.id) for o in orgs)
    assert first.organizations_queued == 3
    assert conn.execute("select count(*) from analytics_events").fetchone() == (6,)  # planning deletes nothing
    assert retention.plan(db.transaction).organizations_queued == 0
    assert len(_queued(conn)) == 3


def test_a_backlog_is_deleted_in_batches_each_its_own_transaction_and_only_what_is_past_the_cutoff(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETENTION_BATCH_SIZE", "2")
    settings.clear_cache()
    org, other = make_org(retention_days=30), make_org(retention_days=400)
    store_events(conn, org.id, occurred_at=datetime.now(UTC) - timedelta(days=45), n=5)
    store_events(conn, org.id, occurred_at=datetime.now(UTC) - timedelta(days=5), n=1)
    store_events(conn, other.id, occurred_at=datetime.now(UTC) - timedelta(days=45), n=3)
    retention.plan(db.transaction)
    steps = []
    while (step := retention_jobs.run_one(db.transaction)).messages:
        steps.append(sum(step.rows_deleted.values()))
    assert sorted(steps, reverse=True)[:3] == [2, 2, 1]  # 5 rows in batches of 2: the message came back twice
    left = conn.execute("select organization_id, count(*) from analytics_events group by 1").fetchall()
    assert dict(left) == {org.id: 1, other.id: 3}
    assert _queued(conn) == []


def test_workers_side_by_side_delete_every_organizations_rows_once(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    orgs = [make_org(retention_days=30) for _ in range(6)]
    for org in orgs:
        store_events(conn, org.id, occurred_at=datetime.now(UTC) - timedelta(days=45), n=3)
    retention.plan(db.transaction)
    results: list[retention_jobs.RetentionDrain] = []

    def work() -> None:
        results.append(retention_jobs.drain(db.transaction)[0])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deleted: dict[Any, int] = {}
    for r in results:
        for org_id, n in r.rows_deleted.items():
            deleted[org_id] = deleted.get(org_id, 0) + n
    assert deleted == {o.id: 3 for o in orgs}
    assert sum(r.messages for r in results) == 6 and _queued(conn) == []


def test_a_message_that_is_not_a_retention_job_is_archived_and_the_others_are_done(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(retention_days=30)
    store_events(conn, org.id, occurred_at=datetime.now(UTC) - timedelta(days=45), n=1)
    conn.execute("select pgmq.send('retention', '{\"organization_id\": \"nope\"}'::jsonb)")
    retention.plan(db.transaction)
    drained, more = retention_jobs.drain(db.transaction)
    assert (drained.archived, drained.rows_deleted, more) == (1, {org.id: 1}, False)
    archived = conn.execute("select message ->> 'organization_id' from pgmq.a_retention").fetchall()
    assert archived == [("nope",)]
