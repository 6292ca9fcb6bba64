"""A validate worker killed with SIGKILL in the middle of a batch loses and duplicates nothing."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
import requests

from shared.core import db
from shared.ingest import intake
from shared.tools import deployment, runner
from tests import factories


def _queue(make_org: Callable[..., Any], n_messages: int, per_message: int) -> tuple[Any, list[str]]:
    """Put n_messages ingest messages on the queue through the real ingest logic."""
    from shared.core import apikeys

    org = make_org()
    caller = apikeys.KeyCache().lookup(db.transaction, org.ingest_key)
    assert caller is not None
    ids: list[str] = []
    for _ in range(n_messages):
        batch = [factories.make_event("payment.succeeded") for _ in range(per_message)]
        ids += [e["event_id"] for e in batch]
        assert intake.accept(db.transaction, caller, batch).accepted == per_message
    return org, ids


def _invoke_in_background(url: str) -> None:
    """Start a drain call that the test will cut short by killing the worker."""

    def call() -> None:
        with contextlib.suppress(requests.ConnectionError):  # the worker is killed under this request
            requests.post(url + "/", timeout=60)

    threading.Thread(target=call, daemon=True).start()


def _start_validate(database_url: str) -> runner.RunningFunction:
    spec = deployment.load().functions["validate"]
    fn = runner.start_function(
        "validate",
        spec,
        database_url,
        runner.free_port(),
        # Reads of 10 messages, more of them in the same transaction while the queue is deep, up to 500 events.
        {"QUEUE_BATCH_SIZE": "10", "QUEUE_DEEP_READ_EVENTS": "500", "QUEUE_VISIBILITY_TIMEOUT_SECONDS": "2"},
    )
    runner.wait_ready(fn)
    return fn


def _assert_each_event_stored_and_handed_on_once(conn: psycopg.Connection[Any], ids: list[str]) -> None:
    stored = [r[0] for r in conn.execute("select event_id from analytics_events")]
    assert sorted(stored) == sorted(ids)
    handed = Counter(i for (m,) in conn.execute("select message from pgmq.q_aggregate") for i in m["ids"])
    assert len(handed) == len(ids) and set(handed.values()) == {1}
    assert conn.execute("select count(*) from pgmq.q_ingest").fetchone() == (0,)
    assert conn.execute("select count(*) from analytics_dead_letters").fetchone() == (0,)


def test_worker_killed_mid_batch_leaves_nothing_lost_or_duplicated(
    database_url: str, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    _, ids = _queue(make_org, n_messages=30, per_message=20)
    worker = _start_validate(database_url)
    try:
        # Hold a lock the worker's insert needs, so it is stuck inside its transaction with messages read.
        with psycopg.connect(database_url) as blocker:
            blocker.execute("lock table analytics_event_keys in share row exclusive mode")
            _invoke_in_background(worker.url)
            for _ in range(200):
                waiting = conn.execute(
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                    "and query like '%%analytics_event_keys%%'"
                ).fetchone()
                if waiting and waiting[0] > 0:
                    break
                threading.Event().wait(0.05)
            else:
                raise AssertionError("the worker never reached the insert")
            # The messages the worker read are row-locked by its open transaction.
            free = conn.execute(
                "select count(*) from (select 1 from pgmq.q_ingest for update skip locked) s"
            ).fetchone()
            worker.kill()
            blocker.rollback()
        # It really was holding a deep batch when killed: reads of 10, 10 and 5 messages of 20 events (500).
        assert free is not None and free[0] == 30 - 25
        worker = _start_validate(database_url)
        answer = requests.post(worker.url + "/", timeout=120)
        while answer.json()["more"]:
            answer = requests.post(worker.url + "/", timeout=120)
    finally:
        worker.stop()
    _assert_each_event_stored_and_handed_on_once(conn, ids)


def test_workers_killed_at_random_moments_under_load_still_store_everything_once(
    database_url: str, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    _, ids = _queue(make_org, n_messages=60, per_message=50)
    for delay in (0.2, 0.5, 0.9):
        worker = _start_validate(database_url)
        _invoke_in_background(worker.url)
        threading.Event().wait(delay)
        worker.kill()
    worker = _start_validate(database_url)
    try:
        while requests.post(worker.url + "/", timeout=120).json()["more"]:
            pass
    finally:
        worker.stop()
    _assert_each_event_stored_and_handed_on_once(conn, ids)
