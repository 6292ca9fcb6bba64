"""The Python sender client against the real ingest function behind a fault-injecting proxy: every event is
stored exactly once and every rejection reaches the caller, whatever the network and the function do."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import wedsync_client

from tests import faultproxy, senders

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

# Every kind of fault, twice, among the first requests; then the ingest function is killed and restarted
# while a request is in it.
FAULT_PLAN = ["drop_request", "500", "429", "drop_answer", "slow", "restart", "drop_answer", "500", "slow", "429"]
FAST: dict[str, Any] = {"backoff": wedsync_client.Backoff(base=0.05, cap=0.5), "timeout": 1.5, "attempts": 200}


def _check_exactly_once(
    conn: psycopg.Connection[Any], org_id: Any, events: list[dict[str, Any]], refused: set[str]
) -> None:
    stored = senders.stored_counts(conn, org_id)
    expected = {e["event_id"] for e in events} - refused
    assert set(stored) == expected
    assert set(stored.values()) == {1}


def test_the_sync_sender_stores_every_event_once_and_reports_every_rejection_through_faults_and_a_restart(
    database_url: str, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    events, refused = senders.batch("py", good=120, bad=6)
    heard: list[wedsync_client.Rejection] = []
    with senders.ingest(database_url) as ingest, faultproxy.FaultProxy(ingest.port, on_restart=ingest.restart) as proxy:
        proxy.plan(FAULT_PLAN)
        sender = wedsync_client.Sender(
            proxy.url,
            org.ingest_key,
            limits=wedsync_client.Limits(max_events=10, max_age=0.05),
            workers=2,
            on_rejected=heard.append,
            **FAST,
        )
        for event in events:
            sender.send(event)
        report = sender.close()
        assert ingest.restarts == 1
    assert set(proxy.applied) == set(faultproxy.FAULTS)
    assert not report.failed and report.retries >= len(FAULT_PLAN)
    assert sorted(r.event_id or "" for r in heard) == sorted(refused)
    assert sorted(r.event_id or "" for r in report.rejected) == sorted(refused)
    assert all(r.errors[0]["type"] == "extra_forbidden" for r in heard)
    assert report.accepted + report.duplicates == len(events) - len(refused)
    _check_exactly_once(conn, org.id, events, refused)


def test_the_async_sender_stores_every_event_once_and_reports_every_rejection_through_faults_and_a_restart(
    database_url: str, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    events, refused = senders.batch("aio", good=80, bad=4)
    heard: list[wedsync_client.Rejection] = []

    async def send_all(url: str) -> wedsync_client.Report:
        limits = wedsync_client.Limits(max_events=8, max_age=0.05)
        async with wedsync_client.AsyncSender(
            url, org.ingest_key, limits=limits, workers=2, on_rejected=heard.append, **FAST
        ) as sender:
            for event in events:
                sender.send(event)
                await asyncio.sleep(0)
            return await sender.flush()

    with senders.ingest(database_url) as ingest, faultproxy.FaultProxy(ingest.port, on_restart=ingest.restart) as proxy:
        proxy.plan(FAULT_PLAN)
        report = asyncio.run(send_all(proxy.url))
        assert ingest.restarts == 1
    assert set(proxy.applied) == set(faultproxy.FAULTS)
    assert not report.failed
    assert sorted(r.event_id or "" for r in heard) == sorted(refused)
    _check_exactly_once(conn, org.id, events, refused)


def test_a_4xx_is_never_retried_and_reaches_the_caller_with_its_events(
    database_url: str, make_org: Callable[..., Any]
) -> None:
    make_org()
    failures: list[wedsync_client.Failure] = []
    with senders.ingest(database_url) as ingest, faultproxy.FaultProxy(ingest.port) as proxy:
        sender = wedsync_client.Sender(proxy.url, "not-a-key", on_failed=failures.append, **FAST)
        ids = [sender.send(wedsync_client.event("app.action", {"user_id": "u-1", "action": "open"})) for _ in range(3)]
        report = sender.close()
    assert proxy.requests == 1
    assert [(f.status, f.error) for f in failures] == [(401, "unauthorized")]
    assert [e["event_id"] for e in failures[0].events] == ids
    assert report.failed == failures and report.accepted == 0


def test_the_client_posts_one_batch_and_reads_back_the_rejected_events_by_index(
    database_url: str, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    events, refused = senders.batch("one", good=5, bad=2)
    with senders.ingest(database_url) as ingest, faultproxy.FaultProxy(ingest.port) as proxy:
        proxy.plan(["drop_answer"])
        client = wedsync_client.Client(proxy.url, org.ingest_key, **FAST)
        report = client.post(events)
    # The first attempt was kept but its answer lost: the resend is queued again, and validate stores it once.
    assert (report.accepted + report.duplicates, report.retries, proxy.applied["drop_answer"]) == (5, 1, 1)
    assert {r.event_id for r in report.rejected} == refused
    assert all(r.event["event_id"] == r.event_id for r in report.rejected)
    _check_exactly_once(conn, org.id, events, refused)


def test_with_flush_at_exit_a_process_that_just_ends_delivers_what_it_queued(
    database_url: str, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    script = (
        "import sys, wedsync_client\n"
        "sender = wedsync_client.Sender(sys.argv[1], sys.argv[2], flush_at_exit=True,\n"
        "    limits=wedsync_client.Limits(max_age=3600))\n"
        "for i in range(7):\n"
        "    sender.send(wedsync_client.event('app.action', {'user_id': 'u-1', 'action': 'a'}, event_id=f'exit-{i}'))\n"
    )
    with senders.ingest(database_url) as ingest, faultproxy.FaultProxy(ingest.port) as proxy:
        subprocess.run([sys.executable, "-c", script, proxy.url, org.ingest_key], check=True, timeout=60)
        assert proxy.requests == 1
    assert senders.stored_counts(conn, org.id) == {f"exit-{i}": 1 for i in range(7)}
