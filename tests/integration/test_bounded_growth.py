"""Bounded growth: retention prunes idempotency keys, dead letters, intake counters and pg_cron's run history
per their documented retention, and nothing younger."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from shared.core import db
from shared.monitor import retention
from shared.validate import validation
from tests import factories
from tests.quality_helpers import bump_stats, store_events


def _keys(conn: psycopg.Connection[Any], org: UUID) -> set[str]:
    return {r[0] for r in conn.execute("select event_id from analytics_event_keys where organization_id = %s", (org,))}


def _stored_ago(conn: psycopg.Connection[Any], event_ids: list[str], days: int) -> None:
    conn.execute(
        "update analytics_event_keys set stored_at = now() - make_interval(days => %s) where event_id = any(%s)",
        (days, event_ids),
    )


def test_keys_are_pruned_only_past_both_the_event_retention_and_the_resend_window(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    now = datetime.now(UTC)
    org = make_org(retention_days=30)
    expired_long_ago = store_events(conn, org.id, occurred_at=now - timedelta(days=60), n=2)
    expired_recently_sent = store_events(conn, org.id, occurred_at=now - timedelta(days=60), n=1)
    still_stored = store_events(conn, org.id, occurred_at=now - timedelta(days=10), n=1)
    _stored_ago(conn, expired_long_ago + still_stored, 40)
    _stored_ago(conn, expired_recently_sent, 5)

    report = retention.run(db.transaction, now=now)

    assert report.keys_pruned == 2
    assert _keys(conn, org.id) == set(expired_recently_sent + still_stored)


def test_a_resend_within_the_window_of_an_expired_event_is_still_a_duplicate(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    now = datetime.now(UTC)
    org = make_org(retention_days=30)
    event = factories.make_event("app.action", occurred_at=now - timedelta(days=45))

    def send() -> None:
        answer = ingest_app.post(
            "/v1/events",
            data=json.dumps(event),
            content_type="application/json",
            headers={"Authorization": f"Bearer {org.ingest_key}"},
        )
        assert answer.status_code == 202
        validation.drain(db.transaction)

    send()
    retention.run(db.transaction, now=now)
    assert conn.execute("select count(*) from analytics_events where organization_id = %s", (org.id,)).fetchone() == (
        0,
    )
    send()

    stored = conn.execute(
        "select sum(stored), sum(duplicates) from analytics_source_stats where organization_id = %s", (org.id,)
    ).fetchone()
    assert stored == (1, 1)


def _dead_letter(conn: psycopg.Connection[Any], org: UUID, state: str, days_ago: int) -> int:
    row = conn.execute(
        """insert into analytics_dead_letters (organization_id, source, stage, payload, reasons, fingerprint,
        first_seen_at, last_seen_at, replay_state)
        values (%s, 'api', 'ingest', '{}', '[{"type": "missing"}]', gen_random_uuid()::text::bytea,
                now() - make_interval(days => %s), now() - make_interval(days => %s), %s) returning id""",
        (org, days_ago, days_ago, state),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_dead_letters_are_kept_per_their_state_retention(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    kept = {
        _dead_letter(conn, org.id, "pending", 100),
        _dead_letter(conn, org.id, "failed", 100),
        _dead_letter(conn, org.id, "replayed", 10),
        _dead_letter(conn, org.id, "discarded", 10),
    }
    for state, days in (("pending", 200), ("failed", 200), ("replayed", 40), ("discarded", 40)):
        _dead_letter(conn, org.id, state, days)

    report = retention.run(db.transaction)

    assert report.dead_letters_deleted == 4
    assert {r[0] for r in conn.execute("select id from analytics_dead_letters")} == kept


def test_intake_counters_older_than_their_retention_are_deleted(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for days in (1, 399, 401, 800):
        bump_stats(conn, org.id, "api", hour - timedelta(days=days), stored=3)

    report = retention.run(db.transaction)

    assert report.source_stats_deleted == 2
    left = [r[0] for r in conn.execute("select bucket from analytics_source_stats order by bucket desc")]
    assert left == [hour - timedelta(days=1), hour - timedelta(days=399)]


def test_cron_run_history_older_than_its_retention_is_purged(conn: psycopg.Connection[Any]) -> None:
    if conn.execute("select to_regclass('cron.job_run_details')").fetchone() == (None,):
        pytest.skip("pg_cron is not installed on this server (it is on Supabase and the 5433 test cluster)")
    conn.execute(
        """insert into cron.job_run_details (runid, jobid, command, status, start_time, end_time)
        select 900000 + d, 1, 'select 1', 'succeeded', now() - make_interval(days => d), now() - make_interval(days => d)
        from unnest(array[1, 13, 15, 90]) d"""
    )

    report = retention.run(db.transaction)

    assert report.cron_runs_deleted == 2
    assert conn.execute("select count(*) from cron.job_run_details").fetchone() == (2,)
