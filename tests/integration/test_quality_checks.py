from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from shared.core import db, settings
from shared.monitor import checks, infrastructure, measurements, quality, reconciliation
from shared.validate import validation
from tests import factories
from tests.quality_helpers import bump_stats, store_events

NOW = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)  # a Wednesday


def _by(results: list[measurements.CheckResult], check: str, subject: str = "") -> measurements.CheckResult:
    found = [r for r in results if r.check == check and r.subject == subject]
    assert len(found) == 1, [(r.check, r.subject) for r in results]
    return found[0]


def _hourly_history(conn: psycopg.Connection[Any], org: Any, source: str, hours: range) -> None:
    for h in hours:
        bump_stats(conn, org, source, (NOW - timedelta(hours=h)).replace(minute=0, second=0, microsecond=0), stored=3)


@pytest.mark.parametrize(("newest_hours_ago", "status"), [(0.5, "pass"), (4, "warn"), (10, "fail")])
def test_freshness_judges_the_newest_event_against_the_sources_usual_rhythm(
    newest_hours_ago: float, status: str, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    _hourly_history(conn, org.id, "stripe", range(11, 60))  # an event every hour until 11 hours ago
    store_events(
        conn,
        org.id,
        source="stripe",
        event_type="payment.succeeded",
        occurred_at=NOW - timedelta(hours=newest_hours_ago),
    )
    result = _by(checks.freshness(conn, {org.id: "UTC"}, NOW), "freshness", "stripe")
    assert result.status == status
    assert result.threshold == 3 * 3600  # three usual gaps of one hour
    assert result.value == pytest.approx(newest_hours_ago * 3600)
    assert _by(checks.freshness(conn, {org.id: "UTC"}, NOW), "freshness", checks.ALL_SOURCES).status == status


def test_freshness_of_a_daily_source_allows_days_and_a_new_source_is_only_learnt(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    for day in range(2, 20):
        bump_stats(
            conn, org.id, "forms", (NOW - timedelta(days=day)).replace(minute=0, second=0, microsecond=0), stored=1
        )
    store_events(conn, org.id, source="forms", occurred_at=NOW - timedelta(days=2))
    store_events(conn, org.id, source="brand-new", occurred_at=NOW - timedelta(days=5))
    results = checks.freshness(conn, {org.id: "UTC"}, NOW)
    daily = _by(results, "freshness", "forms")
    assert daily.status == "pass" and daily.threshold == 3 * 86400
    learning = _by(results, "freshness", "brand-new")
    assert learning.status == "pass" and learning.threshold is None and "learning" in learning.message


def _weekly(
    conn: psycopg.Connection[Any],
    org: Any,
    counts: list[int],
    *,
    source: str = "stripe",
    event_type: str = "payment.succeeded",
) -> None:
    """counts[0] events in the last complete hour, counts[k] in the same hour k weeks earlier."""
    hour = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    for k, n in enumerate(counts):
        if n:
            store_events(
                conn,
                org,
                source=source,
                event_type=event_type,
                occurred_at=hour - timedelta(weeks=k) + timedelta(minutes=5),
                n=n,
            )


@pytest.mark.parametrize(
    ("current", "status", "word"),
    [
        (0, "fail", "went silent"),
        (5, "warn", "drop"),
        (18, "pass", "as usual"),
        (70, "warn", "spike"),
        (250, "fail", "spike"),
    ],
)
def test_volume_compares_the_last_hour_with_the_same_weekday_and_hour_of_previous_weeks(
    current: int, status: str, word: str, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(timezone="UTC")
    _weekly(conn, org.id, [current, 20, 22, 18, 20])
    result = _by(checks.volume(conn, {org.id: "UTC"}, NOW), "volume", "stripe/payment.succeeded")
    assert result.status == status, result
    assert word in result.message
    assert result.detail["expected"] == 20 and result.detail["actual"] == current


def test_volume_does_not_judge_drops_of_rare_events_and_follows_local_time_across_dst(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(timezone="Europe/London")
    _weekly(conn, org.id, [0, 2, 1, 3, 0], event_type="review.received")
    rare = _by(checks.volume(conn, {org.id: "Europe/London"}, NOW), "volume", "stripe/review.received")
    assert rare.status == "pass" and "too few" in rare.message
    # 3 Nov 2026 11:00 GMT; 27 Oct is GMT too, 20 and 13 Oct are BST: the same local hour is 10:00 UTC there.
    windows = checks._hour_windows(
        datetime(2026, 11, 3, 12, 30, tzinfo=UTC), ZoneInfo("Europe/London"), 3, timedelta(0)
    )
    local_hours = {w.astimezone(ZoneInfo("Europe/London")).hour for w in windows}
    assert local_hours == {11}
    assert windows[3] == datetime(2026, 10, 13, 10, 0, tzinfo=UTC)  # 11:00 BST


def _post(app: Any, key: str, events: list[dict[str, Any]]) -> None:
    answer = app.post(
        "/v1/events",
        data=json.dumps({"events": events}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 202


def test_rejection_and_duplicate_rates_per_source_with_the_top_reasons(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    good = [factories.make_event("app.action") for _ in range(20)]
    bad = [factories.make_event("payment.succeeded", currency="EURO") for _ in range(8)]
    unknown = [factories.make_event("app.action") | {"type": "booking.exploded"} for _ in range(2)]
    _post(ingest_app, org.ingest_key, good + bad + unknown)
    _post(ingest_app, org.ingest_key, good[:3])  # three duplicates
    validation.drain(db.transaction)
    results = checks.rates(conn, {org.id: "UTC"}, datetime.now(UTC))
    rejection = _by(results, "rejection_rate", "api")
    assert rejection.status == "fail" and rejection.value == pytest.approx(10 / 33)
    top = rejection.detail["top_reasons"]
    assert top[0]["loc"] == ["data", "currency"] and top[0]["count"] == 8
    assert {"union_tag_invalid"} <= {r["type"] for r in top}
    duplicates = _by(results, "duplicate_rate", "api")
    assert duplicates.status == "pass" and duplicates.value == pytest.approx(3 / 33)


def test_rates_of_a_clean_or_tiny_source_pass(make_org: Callable[..., Any], conn: psycopg.Connection[Any]) -> None:
    org = make_org()
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    bump_stats(conn, org.id, "clean", hour, stored=1000, rejected=10, duplicates=300)
    bump_stats(conn, org.id, "tiny", hour, stored=3, rejected=5)
    results = checks.rates(conn, {org.id: "UTC"}, datetime.now(UTC))
    assert _by(results, "rejection_rate", "clean").status == "pass"
    assert _by(results, "duplicate_rate", "clean").status == "warn"  # 300 of 1310 > 20 %
    assert _by(results, "rejection_rate", "tiny").status == "pass"


def test_queue_health_flags_old_messages_and_messages_over_the_retry_limit(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    now = datetime.now(UTC)
    healthy = {(r.check, r.subject): r for r in infrastructure.queue_health(conn, now)}
    assert all(r.status == "pass" for r in healthy.values())
    assert {("queue_age", "ingest"), ("queue_depth", "aggregate"), ("queue_over_retry_limit", "ingest")} <= set(healthy)
    conn.execute("select pgmq.send('ingest', '{\"k\": 1}'::jsonb)")
    conn.execute("select pgmq.send('ingest', '{\"k\": 2}'::jsonb)")
    conn.execute("update pgmq.q_ingest set enqueued_at = now() - interval '20 minutes'")
    conn.execute("update pgmq.q_ingest set read_ct = 9 where message ->> 'k' = '2'")
    found = {(r.check, r.subject): r for r in infrastructure.queue_health(conn, now)}
    assert found[("queue_age", "ingest")].status == "fail"
    age = found[("queue_age", "ingest")].value
    assert age is not None and age >= 1200
    assert found[("queue_depth", "ingest")].value == 2 and found[("queue_depth", "ingest")].status == "pass"
    over = found[("queue_over_retry_limit", "ingest")]
    assert over.status == "warn" and over.value == 1
    assert found[("queue_age", "aggregate")].status == "pass"


def test_reconciliation_passes_on_exact_rollups_and_fails_on_each_mismatch(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    assert reconciliation.reconcile(db.transaction, {org.id: "UTC"}, datetime.now(UTC))[0].status == "pass"
    factories.corrupt_rollups(conn, org.id, 2)
    failing = reconciliation.reconcile(db.transaction, {org.id: "UTC"}, datetime.now(UTC))[0]
    assert failing.status == "fail" and failing.value == 2
    assert {m["dim1"] for m in failing.detail["mismatches"]} == {"phantom-0", "phantom-1"}
    assert {(m["expected_events"], m["actual_events"]) for m in failing.detail["mismatches"]} == {(0, 1)}


def test_schema_drift_catalogues_unknown_fields_and_types_and_flags_only_new_ones(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    assert checks.schema_drift(conn, {org.id: "UTC"}, datetime.now(UTC))[0].status == "pass"
    _post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event("app.action") | {"surprise": 1},
            factories.make_event("payment.succeeded", tip_minor=5),
            factories.make_event("app.action") | {"type": "booking.exploded"},
        ],
    )
    result = checks.schema_drift(conn, {org.id: "UTC"}, datetime.now(UTC))[0]
    assert result.status == "warn" and result.value == 3
    seen = {(e["kind"], e["name"]) for e in result.detail["new"]}
    assert seen == {("field", "surprise"), ("field", "data.tip_minor"), ("event_type", "booking.exploded")}
    # A day later the same entries are known: no longer new, still catalogued.
    later = checks.schema_drift(conn, {org.id: "UTC"}, datetime.now(UTC) + timedelta(hours=25))[0]
    assert later.status == "pass"
    assert conn.execute(
        "select count(*) from analytics_schema_catalog where organization_id = %s", (org.id,)
    ).fetchone() == (3,)


def test_storage_reports_partitions_ahead_sizes_and_queue_dead_tuples(
    conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    results = infrastructure.storage(conn, now)
    ahead = _by(results, "partitions_ahead", "analytics_events")
    assert ahead.status == "pass" and ahead.value is not None and ahead.value >= 12
    assert _by(results, "table_size", "public.analytics_events").status == "pass"

    conn.execute("alter table pgmq.q_ingest set (autovacuum_enabled = false)")
    conn.execute("select pgmq.send_batch('ingest', array_fill('{}'::jsonb, array[50]))")
    conn.execute("delete from pgmq.q_ingest")
    conn.execute("select pg_stat_force_next_flush()")
    for row in conn.execute("select name from analytics_event_partitions_v1() where range_from > now()"):
        conn.execute(psycopg.sql.SQL("drop table {}").format(psycopg.sql.Identifier(row[0])))
    monkeypatch.setenv("QUALITY_TABLE_BYTES_WARN", "1")
    monkeypatch.setenv("QUALITY_DEAD_TUPLES_WARN", "10")
    settings.clear_cache()
    results = infrastructure.storage(conn, now)
    ahead = _by(results, "partitions_ahead", "analytics_events")
    assert ahead.status == "fail" and ahead.value == 0
    assert _by(results, "table_size", "public.analytics_events").status == "warn"
    dead = _by(results, "queue_dead_tuples", "pgmq.q_ingest")
    assert dead.status == "warn" and dead.value is not None and dead.value >= 50


def test_runs_keep_the_latest_result_per_subject_and_a_history_of_changes(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org, other = make_org(), make_org(name="Other")
    first = quality.run(db.transaction)
    assert not first.skipped and set(first.organizations) == {org.id, other.id, measurements.GLOBAL}
    row = conn.execute("select count(*) from analytics_quality_checks").fetchone()
    assert row is not None
    history = row[0]
    assert history == len(first.results)
    second = quality.run(db.transaction, organization_id=org.id, include_global=False)
    # Nothing changed within the sampling interval: no new history, but the latest results are the new run's.
    assert conn.execute("select count(*) from analytics_quality_checks").fetchone() == (history,)
    with db.transaction() as c:
        latest = quality.latest_results(c, org.id)
    assert {r.organization_id for r in latest} == {org.id, measurements.GLOBAL}
    own = [r for r in latest if r.organization_id == org.id]
    assert sorted((r.check, r.subject) for r in own) == sorted((r.check, r.subject) for r in second.results)
    assert {r.checked_at for r in own} == {second.results[0].checked_at}
    assert all(r.status_since == first.results[0].checked_at for r in own)
    assert any(r.check == "queue_age" for r in latest)

    # A status change is history; so is every failing result; the latest row says since when.
    factories.corrupt_rollups(conn, org.id, 1)
    third = quality.run(db.transaction, organization_id=org.id, include_global=False)
    quality.run(db.transaction, organization_id=org.id, include_global=False)
    rows = conn.execute(
        "select status from analytics_quality_checks where organization_id = %s "
        "and check_name = 'reconciliation' order by id",
        (org.id,),
    ).fetchall()
    assert [r[0] for r in rows] == ["pass", "fail", "fail"]
    with db.transaction() as c:
        recon = next(r for r in quality.latest_results(c, org.id) if r.check == "reconciliation")
    assert recon.status == "fail" and recon.status_since == third.results[0].checked_at


def test_a_subject_no_longer_measured_leaves_the_latest_results(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    store_events(conn, org.id, source="stripe", occurred_at=datetime.now(UTC) - timedelta(hours=1))
    quality.run(db.transaction, organization_id=org.id, include_global=False)
    with db.transaction() as c:
        assert any(r.subject == "stripe" for r in quality.latest_results(c, org.id))
    conn.execute("delete from analytics_source_stats")
    conn.execute("delete from analytics_events")
    quality.run(db.transaction, organization_id=org.id, include_global=False)
    with db.transaction() as c:
        assert not any(r.subject == "stripe" for r in quality.latest_results(c, org.id))


def test_tenants_see_only_their_own_check_results_through_rls(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org, other = make_org(), make_org(name="Other")
    quality.run(db.transaction)
    with conn.transaction():
        conn.execute("set local role authenticated")
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)", (json.dumps({"organization_id": str(org.id)}),)
        )
        seen = {r[0] for r in conn.execute("select distinct organization_id from analytics_quality_checks")}
        latest = {r[0] for r in conn.execute("select distinct organization_id from analytics_quality_latest")}
    assert seen == latest == {org.id}
    assert other.id != org.id


def test_a_run_overlapping_another_skips_instead_of_doubling_history(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any], database_url: str
) -> None:
    make_org()
    with psycopg.connect(database_url) as other:
        other.execute("select pg_advisory_xact_lock(hashtext('analytics_quality_run'))")
        summary = quality.run(db.transaction)
        other.rollback()
    assert summary.skipped and summary.results == []
    assert conn.execute("select count(*) from analytics_quality_checks").fetchone() == (0,)
    assert conn.execute("select count(*) from analytics_quality_latest").fetchone() == (0,)
    assert not quality.run(db.transaction).skipped


def test_a_check_that_crashes_is_a_failing_result_and_the_other_checks_still_run(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    conn.execute("alter table analytics_schema_catalog rename to analytics_schema_catalog_gone")
    summary = quality.run(db.transaction, organization_id=org.id, include_global=False)
    drift = _by(summary.results, "schema_drift")
    assert drift.status == "fail" and "the check itself failed" in drift.message
    assert _by(summary.results, "reconciliation").status == "pass"
    assert conn.execute(
        "select count(*) from analytics_quality_latest where organization_id = %s", (org.id,)
    ).fetchone() == (len(summary.results),)
