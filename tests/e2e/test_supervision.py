"""`up` supervises: a function process that dies comes back by itself while the others keep serving."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import requests

from shared.tools import runner
from tests import factories


@pytest.fixture
def supervised(database_url: str) -> Iterator[runner.Pipeline]:
    running = runner.start(database_url, poll_seconds=1.0, supervise=True)
    yield running
    running.stop()


def _answers(url: str) -> bool:
    try:
        requests.get(url + "/healthz", timeout=2)
    except requests.ConnectionError:
        return False
    return True


def test_a_killed_validate_is_restarted_by_itself_and_stores_events_posted_afterwards(
    supervised: runner.Pipeline, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    validate = supervised.functions["validate"]
    killed_pid = validate.process.pid
    validate.kill()
    assert not _answers(validate.url)
    ingest = requests.post(  # ingest stays up while validate is down
        supervised.url("ingest") + "/v1/events",
        json={"events": [factories.make_event("app.action")]},
        headers={"Authorization": f"Bearer {org.ingest_key}"},
        timeout=10,
    )
    assert ingest.status_code == 202
    deadline = time.monotonic() + 30
    while not _answers(validate.url):
        assert time.monotonic() < deadline, "validate did not come back within 30 s"
        time.sleep(0.1)
    assert validate.process.pid != killed_pid and validate.restarts == 1
    after = requests.post(
        supervised.url("ingest") + "/v1/events",
        json={"events": [factories.make_event("app.action")]},
        headers={"Authorization": f"Bearer {org.ingest_key}"},
        timeout=10,
    )
    assert after.status_code == 202
    deadline = time.monotonic() + 30
    while conn.execute("select count(*) from analytics_events").fetchone() != (2,):
        assert time.monotonic() < deadline, "events posted around the restart were not stored"
        time.sleep(0.1)


def test_a_stopped_pipeline_is_not_restarted(database_url: str) -> None:
    running = runner.start(database_url, poll_seconds=30.0, supervise=True)
    running.stop()
    time.sleep(1.5)
    assert all(fn.process.poll() is not None for fn in running.functions.values())
