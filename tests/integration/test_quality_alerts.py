from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import psycopg
import pytest
import responses
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from shared.core import db, settings
from shared.monitor import alerts, measurements, quality
from tests import factories

HOOK = "https://hooks.example.com/wedsync"
OPS_HOOK = "https://ops.example.com/alerts"
SECRET = "org-webhook-secret-0123456789"
REGION = "eu-west-2"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress="alerts@wedsync.app")
        yield


def _emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def _set_reconcile(conn: psycopg.Connection[Any], org_id: Any, mismatches: int) -> None:
    """Make the reconciliation check see exactly `mismatches` differences (0 repairs the rollups)."""
    factories.repair_rollups(conn, org_id)
    factories.corrupt_rollups(conn, org_id, mismatches)


def _run() -> dict[str, int]:
    return alerts.process(db.transaction, quality.run(db.transaction))


def _hook_calls(url: str) -> list[Any]:
    return [c for c in responses.calls if c.request.url == url]


@responses.activate
def test_a_failing_check_alerts_once_per_incident_and_once_on_recovery(
    aws: None, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    responses.add(responses.POST, HOOK, status=200)
    org = make_org(alerts={"webhook_url": HOOK, "webhook_secret": SECRET, "emails": ["owner@rose.example"]})
    _set_reconcile(conn, org.id, 2)
    first = _run()
    assert first["opened"] == 1
    _run()
    _run()
    calls = _hook_calls(HOOK)
    assert len(calls) == 1
    body = json.loads(calls[0].request.body)
    assert body["state"] == "opened" and body["check"] == "reconciliation" and body["value"] == 2
    assert body["organization_id"] == str(org.id)
    headers = calls[0].request.headers
    expected = (
        "v1="
        + hmac.new(
            SECRET.encode(), headers["X-WedSync-Timestamp"].encode() + b"." + calls[0].request.body, hashlib.sha256
        ).hexdigest()
    )
    assert headers["X-WedSync-Signature"] == expected
    assert headers["X-WedSync-Event"] == "quality.incident.opened"
    sent = _emails()
    assert len(sent) == 1 and sent[0].destinations["ToAddresses"] == ["owner@rose.example"]
    assert "FAILING" in sent[0].subject

    _set_reconcile(conn, org.id, 0)
    recovered = _run()
    _run()
    assert recovered["resolved"] == 1
    calls = _hook_calls(HOOK)
    assert [json.loads(c.request.body)["state"] for c in calls] == ["opened", "resolved"]
    assert len(_emails()) == 2 and "recovered" in _emails()[1].subject
    incident = conn.execute(
        "select resolved_at is not null, opened_notified_at is not null, "
        "resolved_notified_at is not null from analytics_quality_incidents"
    ).fetchall()
    assert incident == [(True, True, True)]

    _set_reconcile(conn, org.id, 1)
    _run()
    assert len(_hook_calls(HOOK)) == 3  # a new failure is a new incident
    assert conn.execute("select count(*) from analytics_quality_incidents").fetchone() == (2,)


@responses.activate
def test_a_failed_channel_is_retried_next_run_without_repeating_the_channel_that_worked(
    aws: None, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    responses.add(responses.POST, HOOK, status=503)
    responses.add(responses.POST, HOOK, status=200)
    org = make_org(alerts={"webhook_url": HOOK, "emails": ["owner@rose.example"]})
    _set_reconcile(conn, org.id, 1)
    _run()
    row = conn.execute("select opened_notified_at, notify_error from analytics_quality_incidents").fetchone()
    assert row is not None and row[0] is None and "503" in row[1]
    assert len(_emails()) == 1
    _run()
    assert len(_hook_calls(HOOK)) == 2  # the retry
    assert len(_emails()) == 1  # email already delivered: not repeated
    row = conn.execute("select opened_notified_at, notify_error from analytics_quality_incidents").fetchone()
    assert row is not None and row[0] is not None and row[1] is None
    _run()
    assert len(_hook_calls(HOOK)) == 2


@responses.activate
def test_global_checks_alert_the_global_recipients_signed_with_the_global_secret(
    aws: None, make_org: Callable[..., Any], conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    responses.add(responses.POST, OPS_HOOK, status=200)
    monkeypatch.setenv("ALERT_WEBHOOK_URL", OPS_HOOK)
    monkeypatch.setenv("ALERT_WEBHOOK_SECRET", "ops-secret")
    monkeypatch.setenv("ALERT_EMAILS", '["ops@wedsync.example"]')
    settings.clear_cache()
    conn.execute("select pgmq.send('ingest', '{}'::jsonb)")
    conn.execute("update pgmq.q_ingest set enqueued_at = now() - interval '1 hour'")
    _run()
    _run()
    bodies = [json.loads(c.request.body) for c in _hook_calls(OPS_HOOK)]
    assert [(b["check"], b["subject"], b["state"]) for b in bodies] == [("queue_age", "ingest", "opened")]
    assert bodies[0]["organization_id"] == str(measurements.GLOBAL)
    call = _hook_calls(OPS_HOOK)[0]
    stamp = call.request.headers["X-WedSync-Timestamp"]
    assert call.request.headers["X-WedSync-Signature"] == alerts.sign("ops-secret", stamp, call.request.body)
    assert [m.destinations["ToAddresses"] for m in _emails()] == [["ops@wedsync.example"]]


@responses.activate
def test_the_monitor_function_runs_checks_for_the_scheduler_only(
    monitor_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_org()
    monkeypatch.setenv("INVOKE_SECRET", "cron-secret")
    settings.clear_cache()
    assert monitor_app.post("/").status_code == 401
    answer = monitor_app.post("/", headers={"Authorization": "Bearer cron-secret"})
    assert answer.status_code == 200
    assert answer.json["skipped"] is False and sum(answer.json["results"].values()) > 0
    stored = conn.execute("select count(*) from analytics_quality_checks").fetchone()
    assert stored is not None and stored[0] == sum(answer.json["results"].values())


def test_the_check_command_prints_every_result_and_exits_1_when_a_check_fails(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.tools import cli

    org = make_org()
    assert cli.main(["quality", "check", "--org", str(org.id), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["check"] for r in out["results"]} == {"schema_drift", "reconciliation"}
    assert {r["organization_id"] for r in out["results"]} == {str(org.id)}
    _set_reconcile(conn, org.id, 3)
    assert cli.main(["quality", "check", "--org", str(org.id), "--include-global"]) == 1
    text = capsys.readouterr().out
    assert "FAIL" in text and "reconciliation" in text and "queue_age" in text
    assert "incidents opened 1" in text


@responses.activate
def test_the_monitor_function_queues_notifications_and_the_alert_worker_delivers_each_incident_once(
    aws: None, make_org: Callable[..., Any], conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions_framework import create_app

    from shared.tools import runner

    responses.add(responses.POST, HOOK, status=200)
    orgs = [make_org(alerts={"webhook_url": HOOK}) for _ in range(3)]
    for org in orgs:
        _set_reconcile(conn, org.id, 1)
    monkeypatch.setenv("INVOKE_SECRET", "cron-secret")
    settings.clear_cache()
    auth = {"Authorization": "Bearer cron-secret"}
    source = str(runner.ROOT / "functions/monitor/main.py")
    worker = create_app(target="alert_worker", source=source).test_client()
    assert worker.post("/").status_code == 401
    for _ in range(2):  # a second run queues nothing twice while the first run's messages wait
        ran = create_app(target="monitor", source=source).test_client().post("/", headers=auth)
        assert ran.status_code == 200 and ran.json["alerts"]["notifications"] == 0
    assert _hook_calls(HOOK) == []  # the run only queued
    queued = conn.execute("select count(*) from pgmq.q_alerts").fetchone()
    assert queued == (3,)
    drained = worker.post("/", headers=auth)
    assert drained.status_code == 200 and drained.json == {"messages": 3, "notifications": 3, "more": False}
    bodies = [json.loads(c.request.body) for c in _hook_calls(HOOK)]
    assert sorted(b["organization_id"] for b in bodies) == sorted(str(o.id) for o in orgs)
    assert worker.post("/", headers=auth).json["messages"] == 0
