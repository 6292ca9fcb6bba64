"""The monitor's checks are one set-based pass over all organizations: each organization is still judged on
its own data only, and a failure inside one organization's reconciliation fails only that organization."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from shared.core import db, settings
from shared.monitor import checks, measurements, quality
from tests.quality_helpers import bump_stats, store_events


def _of(results: list[measurements.CheckResult], org: Any, check: str) -> dict[str, measurements.CheckResult]:
    return {r.subject: r for r in results if r.organization_id == org and r.check == check}


def test_one_pass_judges_every_organization_on_its_own_data(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    noisy, clean, idle = make_org(name="Noisy"), make_org(name="Clean", timezone="Asia/Kathmandu"), make_org()
    bump_stats(conn, noisy.id, "api", hour, stored=50, rejected=50)
    bump_stats(conn, clean.id, "api", hour, stored=100)
    bump_stats(conn, clean.id, "forms", hour, stored=30, duplicates=30)

    results = checks.rates(conn, {noisy.id: "Europe/London", clean.id: "Asia/Kathmandu", idle.id: "UTC"}, now)

    assert _of(results, noisy.id, "rejection_rate")["api"].status == "fail"
    assert set(_of(results, noisy.id, "rejection_rate")) == {"api"}
    assert _of(results, clean.id, "rejection_rate")["api"].status == "pass"
    assert _of(results, clean.id, "duplicate_rate")["forms"].value == 0.5
    assert not [r for r in results if r.organization_id == idle.id]


def test_a_reconcile_error_fails_only_the_organization_it_came_from(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any], monkeypatch: Any
) -> None:
    monkeypatch.setenv("QUALITY_RECONCILE_CHUNK", "10")
    settings.clear_cache()
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    broken, fine, quiet = make_org(name="Broken"), make_org(name="Fine"), make_org(name="Quiet")
    for org in (broken, fine):
        store_events(conn, org.id, occurred_at=hour - timedelta(hours=1))
    # A queued aggregate message whose ids are not numbers breaks the reconcile function for its organization.
    conn.execute(
        "select pgmq.send('aggregate', %s::jsonb)",
        (json.dumps({"organization_id": str(broken.id), "ids": ["not-a-number"]}),),
    )

    summary = quality.run(db.transaction, include_global=False)

    reconciled = {r.organization_id: r for r in summary.results if r.check == "reconciliation"}
    assert reconciled[broken.id].status == "fail" and "reconciliation error" in reconciled[broken.id].message
    # The other organization is still reconciled: its event has no rollups (arranged directly), so mismatches.
    assert reconciled[fine.id].status == "fail" and "error" not in reconciled[fine.id].message
    assert reconciled[quiet.id].status == "pass"
    assert {r.organization_id for r in summary.results if r.check == "schema_drift"} == {broken.id, fine.id, quiet.id}


def test_volume_windows_follow_each_organizations_own_time_zone(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    now = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)
    london, kathmandu = make_org(), make_org(name="Kathmandu", timezone="Asia/Kathmandu")
    last_hour = datetime(2026, 11, 18, 13, 0, tzinfo=UTC)
    for org in (london.id, kathmandu.id):
        conn.execute(
            """insert into analytics_event_keys (organization_id, event_id, occurred_at) values (%s, 'e1', %s)""",
            (org, last_hour + timedelta(minutes=5)),
        )
        conn.execute(
            """insert into analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at,
            received_at, source) select id, organization_id, event_id, 'app.action', 1, occurred_at, occurred_at,
            'api' from analytics_event_keys where organization_id = %s""",
            (org,),
        )

    results = checks.volume(conn, {london.id: "Europe/London", kathmandu.id: "Asia/Kathmandu"}, now)

    for org in (london.id, kathmandu.id):
        found = _of(results, org, "volume")["api/app.action"]
        assert found.detail["actual"] == 1 and found.detail["window_start"] == last_hour


def test_reconciliation_takes_turns_under_its_budget_and_carries_the_others_forward(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any], monkeypatch: Any
) -> None:
    monkeypatch.setenv("QUALITY_RECONCILE_ORGS_PER_RUN", "1")
    settings.clear_cache()
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first, second = make_org(name="First"), make_org(name="Second")
    for org in (first, second):
        store_events(conn, org.id, occurred_at=hour - timedelta(hours=1))

    def reconciled() -> dict[Any, datetime]:
        summary = quality.run(db.transaction, include_global=False)
        return {r.organization_id: r.checked_at for r in summary.results if r.check == "reconciliation"}

    one = reconciled()
    assert len(one) == 1  # the other has no result yet: it was neither recomputed nor ever stored
    (done,) = one
    two = reconciled()
    assert set(two) == {first.id, second.id}
    assert two[done] == one[done]  # carried forward, not recomputed
    three = reconciled()
    assert three[done] > one[done] and three[done] != two[done]


def test_the_usual_gap_is_the_median_of_recent_gaps_and_needs_five_active_hours(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    now = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)
    start = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)
    judged, learning = make_org(), make_org(name="Learning")
    for h in (0, 1, 2, 3, 10):  # gaps 1, 1, 1 and 7 hours: the median is one hour
        bump_stats(conn, judged.id, "api", start + timedelta(hours=h), stored=1)
    for h in (0, 1, 2, 3):
        bump_stats(conn, learning.id, "api", start + timedelta(hours=h), stored=1)

    results = checks.freshness(conn, {judged.id: "UTC", learning.id: "UTC"}, now)

    assert _of(results, judged.id, "freshness")["api"].detail["usual_gap_seconds"] == 3600
    assert _of(results, judged.id, "freshness")[checks.ALL_SOURCES].threshold == 3 * 3600
    assert _of(results, learning.id, "freshness")["api"].threshold is None
