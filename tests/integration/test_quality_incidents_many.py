"""Incidents are opened, updated and resolved for a whole run at once (one statement each): every failure
still gets its own incident, in the order of the results, and each one not failing any more is resolved with
its own latest measurement, however many organizations and subjects the run covered."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from shared.core import db
from shared.monitor import alerts, measurements, quality


def _result(org: Any, subject: str, status: measurements.Status, value: float, now: datetime) -> Any:
    return measurements.result(org, "freshness", subject, status, value, 10.0, "seconds", f"{subject} {value}", now)


def _incidents(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select organization_id, subject, resolved_at is not null, last_status, last_value, message "
        "from analytics_quality_incidents order by id"
    ).fetchall()


def test_a_run_opens_updates_and_resolves_many_incidents_each_with_its_own_measurement(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    rose, ivy, other = make_org(name="Rose"), make_org(name="Ivy"), make_org(name="Other")
    now = datetime.now(UTC)
    first = [
        _result(rose.id, "api", "fail", 100.0, now),
        _result(ivy.id, "stripe", "fail", 200.0, now),
        _result(rose.id, "stripe", "fail", 300.0, now),
        _result(ivy.id, "api", "pass", 1.0, now),
        _result(other.id, "api", "fail", 400.0, now),
    ]
    with db.transaction() as c:
        opened, resolved = alerts.update_incidents(
            c, quality.RunSummary(run_id=uuid.uuid4(), results=first, organizations=[rose.id, ivy.id, other.id]), now
        )
    assert (opened, resolved) == (4, 0)
    assert _incidents(conn) == [
        (rose.id, "api", False, "fail", 100.0, "api 100.0"),
        (ivy.id, "stripe", False, "fail", 200.0, "stripe 200.0"),
        (rose.id, "stripe", False, "fail", 300.0, "stripe 300.0"),
        (other.id, "api", False, "fail", 400.0, "api 400.0"),
    ]

    # Next run covers Rose and Ivy only: Rose's api still fails (updated, not reopened), Ivy's stripe passes
    # (resolved with that pass), Rose's stripe is no longer measured (resolved as such), Ivy's api now fails
    # (opened); Other was not covered, so its incident stays open and untouched.
    later = now + timedelta(minutes=5)
    second = [
        _result(rose.id, "api", "fail", 150.0, later),
        _result(ivy.id, "stripe", "pass", 2.0, later),
        _result(ivy.id, "api", "fail", 500.0, later),
    ]
    with db.transaction() as c:
        opened, resolved = alerts.update_incidents(
            c, quality.RunSummary(run_id=uuid.uuid4(), results=second, organizations=[rose.id, ivy.id]), later
        )
    assert (opened, resolved) == (1, 2)
    assert _incidents(conn) == [
        (rose.id, "api", False, "fail", 150.0, "api 150.0"),
        (ivy.id, "stripe", True, "pass", 2.0, "stripe 2.0"),
        (rose.id, "stripe", True, "pass", None, "no longer measured"),
        (other.id, "api", False, "fail", 400.0, "api 400.0"),
        (ivy.id, "api", False, "fail", 500.0, "api 500.0"),
    ]
    checked = conn.execute(
        "select subject, last_checked_at from analytics_quality_incidents where organization_id = %s order by id",
        (rose.id,),
    ).fetchall()
    assert checked == [("api", later), ("stripe", later)]
