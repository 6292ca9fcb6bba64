"""The local pipeline as `up` runs it: real function processes, real HTTP, queue functions woken by pgmq."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import requests

from shared.tools import runner
from tests import factories


@pytest.fixture
def pipeline(database_url: str) -> Iterator[runner.Pipeline]:
    running = runner.start(database_url, poll_seconds=30.0)  # a long poll: wake-ups must come from notifications
    yield running
    running.stop()


def _wait_for(conn: psycopg.Connection[Any], sql: str, expected: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = conn.execute(sql).fetchone()
        if value == expected:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{sql!r} gave {value}, expected {expected}")


def test_events_posted_over_http_are_stored_by_the_running_pipeline(
    pipeline: runner.Pipeline, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(timezone="America/St_Johns", currency="CAD")
    events = [factories.make_event(t) for t in ("inquiry.received", "booking.confirmed", "payment.succeeded")]
    answer = requests.post(
        pipeline.url("ingest") + "/v1/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {org.ingest_key}"},
        timeout=10,
    )
    assert answer.status_code == 202 and answer.json()["accepted"] == 3
    _wait_for(conn, "select count(*) from analytics_events", (3,))
    rows = conn.execute("select event_id, event_type, organization_id from analytics_events order by id").fetchall()
    assert sorted(r[0] for r in rows) == sorted(e["event_id"] for e in events)
    assert {r[2] for r in rows} == {org.id}
    _wait_for(conn, "select count(*) from pgmq.q_ingest", (0,))


def test_every_function_answers_its_health_probe(pipeline: runner.Pipeline) -> None:
    for name in pipeline.functions:
        health = requests.get(pipeline.url(name) + "/healthz", timeout=10)
        assert health.status_code == 200, (name, health.text)
        assert health.json() == {
            "ok": True,
            "database": True,
            "migrations_current": True,
            "queues": True,
            "detail": "",
        }


def test_the_event_catalog_is_served_as_json_schema(pipeline: runner.Pipeline) -> None:
    schema = requests.get(pipeline.url("ingest") + "/v1/schema/events", timeout=10).json()
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["discriminator"]["mapping"]) == set(factories.SAMPLE_DATA)


def test_cli_creates_an_organization_whose_key_the_pipeline_accepts(
    pipeline: runner.Pipeline, database_url: str, conn: psycopg.Connection[Any]
) -> None:
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.tools.cli",
            "org",
            "create",
            "--name",
            "Petal & Vine",
            "--timezone",
            "Australia/Adelaide",
            "--currency",
            "aud",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"DATABASE_URL": database_url, "PATH": ""},
        cwd=runner.ROOT,
    )
    org = json.loads(created.stdout)
    assert org["currency"] == "AUD" and org["ingest_key"].startswith("wsk_")
    answer = requests.post(
        pipeline.url("ingest") + "/v1/events",
        json=factories.make_event("app.action"),
        headers={"Authorization": f"Bearer {org['ingest_key']}"},
        timeout=10,
    )
    assert answer.status_code == 202
    _wait_for(conn, "select count(*) from analytics_events", (1,))


def test_cli_refuses_an_unknown_time_zone_or_currency_with_the_field_named(database_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.tools.cli",
            "org",
            "create",
            "--name",
            "X",
            "--timezone",
            "Mars/Olympus",
            "--currency",
            "ZZZ",
        ],
        capture_output=True,
        text=True,
        env={"DATABASE_URL": database_url, "PATH": ""},
        cwd=runner.ROOT,
    )
    assert result.returncode == 2
    assert "--timezone" in result.stderr and "IANA" in result.stderr
    assert "--currency" in result.stderr and "ISO 4217" in result.stderr
