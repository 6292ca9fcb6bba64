"""Reports fanned out through the `reports` queue: the planner queues each due report once, workers make each
once however many run, a crash leaves the message for a retry and a report that keeps failing is dead-lettered
without holding up the others."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from shared import report as reports
from shared.core import db, settings
from shared.report import content
from shared.tools import cli
from tests.integration.reports.support import LONDON_NOW, WEEK


def _queued(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        "select message ->> 'organization_id', message ->> 'kind', message ->> 'period_start' from pgmq.q_reports"
    ).fetchall()
    return sorted(rows)


def test_the_planner_queues_one_message_per_due_report_and_a_second_plan_queues_none(
    report_env: None, business: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    both = business(weekly=True, monthly=True)
    weekly = business(weekly=True, monthly=False)
    first = reports.plan(db.transaction, now=LONDON_NOW)
    assert (first.organizations, first.due, first.queued, first.errors) == (2, 3, 3, [])
    assert _queued(conn) == sorted(
        [
            (str(both.id), "monthly", "2026-10-01"),
            (str(both.id), "weekly", WEEK.isoformat()),
            (str(weekly.id), "weekly", WEEK.isoformat()),
        ]
    )
    again = reports.plan(db.transaction, now=LONDON_NOW)
    assert (again.due, again.queued) == (3, 0)
    assert len(_queued(conn)) == 3
    assert conn.execute("select count(*) from analytics_reports").fetchone() == (0,)  # planning makes nothing
    drained, more = reports.drain(db.transaction, now=LONDON_NOW)
    assert (drained.messages, drained.generated, more) == (3, 3, False)
    assert reports.plan(db.transaction, now=LONDON_NOW).queued == 0  # made: never queued again
    assert conn.execute("select state, count(*) from analytics_report_plans group by state").fetchall() == [("done", 3)]


def test_two_workers_draining_at_once_make_each_report_exactly_once(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orgs = [business(weekly=True, monthly=False) for _ in range(4)]
    assert reports.plan(db.transaction, now=LONDON_NOW).queued == 4
    # Both workers are held mid-report until the other is too: each holds a different message while it works.
    both_working = threading.Barrier(2, timeout=60)
    real_build = content.build
    calls = 0
    lock = threading.Lock()

    def build(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        with lock:
            calls += 1
            first_two = calls <= 2
        if first_two:
            both_working.wait()
        return real_build(*args, **kwargs)

    monkeypatch.setattr(content, "build", build)
    outcomes: list[reports.DrainOutcome] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            outcomes.append(reports.drain(db.transaction, now=LONDON_NOW)[0])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sorted(o.generated for o in outcomes) != [0, 4]  # both took part
    assert sum(o.generated for o in outcomes) == 4 and sum(o.messages for o in outcomes) == 4
    rows = conn.execute(
        "select organization_id, status, generation_attempts from analytics_reports order by organization_id"
    ).fetchall()
    assert rows == sorted((o.id, "stored", 1) for o in orgs)
    assert _queued(conn) == []


def test_a_worker_that_dies_mid_report_leaves_the_message_for_the_next_worker(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = business(weekly=True, monthly=False)
    assert reports.plan(db.transaction, now=LONDON_NOW).queued == 1
    real_build = content.build

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt("the instance was stopped")

    monkeypatch.setattr(content, "build", killed)
    with pytest.raises(KeyboardInterrupt):
        reports.drain(db.transaction, now=LONDON_NOW)
    # The whole transaction rolled back, the read with it: the message is visible again, as if never read.
    assert conn.execute("select read_ct, vt <= now() from pgmq.q_reports").fetchall() == [(0, True)]
    assert conn.execute("select count(*) from analytics_reports").fetchone() == (0,)
    assert conn.execute("select state from analytics_report_plans").fetchall() == [("queued",)]
    monkeypatch.setattr(content, "build", real_build)
    drained, _ = reports.drain(db.transaction, now=LONDON_NOW)
    assert (drained.generated, drained.dead) == (1, 0)
    assert conn.execute(
        "select status, generation_attempts from analytics_reports where organization_id = %s", (org.id,)
    ).fetchall() == [("stored", 1)]
    assert _queued(conn) == []


def test_a_report_that_keeps_failing_is_dead_lettered_with_its_reason_and_the_others_are_made(
    report_env: None,
    business: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("QUEUE_MAX_READS", "2")
    settings.clear_cache()
    poison = business(weekly=True, monthly=False)
    healthy = business(weekly=True, monthly=False)
    real_build = content.build

    def build(conn: Any, org_id: Any, *args: Any, **kwargs: Any) -> Any:
        if org_id == poison.id:
            raise ValueError("a rollup this report cannot read")
        return real_build(conn, org_id, *args, **kwargs)

    monkeypatch.setattr(content, "build", build)
    assert reports.plan(db.transaction, now=LONDON_NOW).queued == 2
    first, _ = reports.drain(db.transaction, now=LONDON_NOW)
    assert (first.generated, first.deferred, first.dead) == (1, 1, 0)
    # The failure is recorded on the report and the plan; the message waits for its retry.
    assert conn.execute(
        "select state, last_error from analytics_report_plans where organization_id = %s", (poison.id,)
    ).fetchone() == (
        "queued",
        "ValueError: a rollup this report cannot read",
    )
    assert conn.execute(
        "select status, generation_error from analytics_reports where organization_id = %s", (poison.id,)
    ).fetchone() == ("failed", "ValueError: a rollup this report cannot read")
    assert _queued(conn) == [(str(poison.id), "weekly", WEEK.isoformat())]
    assert reports.drain(db.transaction, now=LONDON_NOW)[0].messages == 0  # hidden until its retry time
    conn.execute("update pgmq.q_reports set vt = now()")  # REPORTS_QUEUE_RETRY_SECONDS have passed
    second, _ = reports.drain(db.transaction, now=LONDON_NOW)
    assert (second.generated, second.deferred, second.dead) == (0, 0, 1)
    row = conn.execute(
        "select state, reasons, payload from analytics_report_plans where organization_id = %s", (poison.id,)
    ).fetchone()
    assert row is not None
    state, reasons, payload = row
    assert state == "dead" and payload["organization_id"] == str(poison.id)
    assert reasons[0]["type"] == "report_failed" and "a rollup this report cannot read" in reasons[0]["msg"]
    assert _queued(conn) == []
    assert reports.plan(db.transaction, now=LONDON_NOW).queued == 0  # a dead letter is not re-planned by itself
    (made,) = reports.access.list_reports(conn, healthy.id)
    assert made.status == "stored"
    capsys.readouterr()
    assert cli.main(["report", "--dead", "--json"]) == 0
    (letter,) = json.loads(capsys.readouterr().out)["dead"]
    assert letter["organization_id"] == str(poison.id) and "a rollup this report cannot read" in letter["last_error"]
