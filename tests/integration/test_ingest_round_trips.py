"""Ingest's short path: the all-good request's transaction sent in one round trip, and the pool lending a
connection it just got back without probing it first. Both must keep what a 202 means."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from shared.core import apikeys, db, errors, queries, settings
from shared.ingest import intake


def _post(app: Any, key: str, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    return app.post("/v1/events", data=json.dumps(body), headers=headers, content_type="application/json")


def _queued(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return [row[0] for row in conn.execute("select message from pgmq.q_ingest order by msg_id").fetchall()]


def test_a_good_single_event_is_queued_checked_by_the_short_path(
    ingest_app: Any, make_org: Callable[..., Any], make_event: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    event = make_event("inquiry.received")
    answer = _post(ingest_app, org.ingest_key, event)
    assert answer.status_code == 202
    assert answer.json == {"accepted": 1, "duplicates": 0, "rejected": []}
    [message] = _queued(conn)
    assert message["checked"] is True and message["organization_id"] == str(org.id)
    assert [e["event_id"] for e in message["events"]] == [event["event_id"]]


def test_an_all_good_request_never_opens_the_long_transaction(
    make_org: Callable[..., Any], make_event: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    caller = apikeys.KeyCache().lookup(db.transaction, org.ingest_key)
    assert caller is not None

    def long_path() -> Any:
        raise AssertionError("the all-good request took the long path")

    result = intake.accept(long_path, caller, [make_event(), make_event()])
    assert (result.accepted, result.duplicates, result.rejected) == (2, 0, [])
    assert len(_queued(conn)) == 1


def test_queue_unless_known_sends_nothing_when_an_event_is_already_stored(
    make_org: Callable[..., Any], make_event: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    conn.execute(
        "insert into analytics_event_keys (organization_id, event_id, occurred_at) values (%s, 'stored-1', now())",
        (org.id,),
    )
    params = {"organization_id": org.id, "queue": "ingest", "message": json.dumps({"events": []})}
    with db.sent_together() as c:
        known = c.execute(queries.get("queue_unless_known"), params | {"event_ids": ["new-1", "stored-1"]})
        fresh = c.execute(queries.get("queue_unless_known"), params | {"event_ids": ["new-2"]})
    assert known.fetchone() == (["stored-1"], None)
    row = fresh.fetchone()
    assert row is not None and row[0] == [] and row[1] is not None
    assert len(_queued(conn)) == 1  # only the message whose events were all new


def test_a_request_repeating_a_stored_event_takes_the_long_path_and_counts_it(
    make_org: Callable[..., Any], make_event: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    caller = apikeys.KeyCache().lookup(db.transaction, org.ingest_key)
    assert caller is not None
    old, new = make_event(), make_event()
    conn.execute(
        "insert into analytics_event_keys (organization_id, event_id, occurred_at) values (%s, %s, now())",
        (org.id, old["event_id"]),
    )
    result = intake.accept(db.transaction, caller, [old, new])
    assert (result.accepted, result.duplicates) == (1, 1)
    [message] = _queued(conn)  # the short path queued nothing; the long one queued the new event alone
    assert [e["event_id"] for e in message["events"]] == [new["event_id"]]


def test_a_failing_statement_sent_together_commits_nothing_and_raises(
    database_url: str, conn: psycopg.Connection[Any]
) -> None:
    with pytest.raises(errors.DatabaseRejected), db.sent_together() as c:
        c.execute("select pgmq.send('ingest', '{\"n\": 1}'::jsonb)")
        c.execute("select 1 / 0")
    assert _queued(conn) == []


def test_a_connection_back_a_moment_ago_is_lent_without_a_probe_and_an_older_one_is_probed(
    database_url: str, conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "1")  # one connection, so the one lent is the one just handed back
    settings.clear_cache()
    db.close_pools()

    def backend() -> int:
        with db.transaction() as c:
            row = c.execute("select pg_backend_pid()").fetchone()
            assert row is not None
            return int(row[0])

    first = backend()
    conn.execute("select pg_terminate_backend(%s)", (first,))
    # Just handed back, so not probed: the dead connection is lent, the transaction fails transiently
    # (ingest answers 503 and the client retries) and the pool throws the connection away.
    with pytest.raises(errors.DatabaseUnavailable):
        backend()
    second = backend()
    conn.execute("select pg_terminate_backend(%s)", (second,))
    for pooled in list(db._returned_at):
        db._returned_at[pooled] -= 2 * db._FRESH_SECONDS  # as if handed back long ago
    assert backend() not in (first, second)  # probed, found dead, replaced: the caller never sees it
