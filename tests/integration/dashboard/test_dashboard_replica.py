"""The dashboard read from a real streaming replica (DATABASE_READ_URL): the same answers as the primary once it
has caught up, ETags from the same snapshot as the numbers, the primary when the replica is behind the bound or
down, and writes that still reach the primary."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.core import apikeys, db, replica, settings
from shared.dashboard import answercache
from tests.integration.dashboard.support import drain, get, post, token, value
from tests.replica import StreamingReplica

PATHS = [
    ("/v1/metrics/overview", {"from": "2026-06-01", "to": "2026-06-30"}),
    ("/v1/metrics/timeseries", {"metric": "inquiries", "from": "2026-06-01", "to": "2026-06-30", "interval": "day"}),
    ("/v1/revenue", {"from": "2026-06-01", "to": "2026-06-30"}),
    ("/v1/funnel", {"from": "2026-06-01", "to": "2026-06-30"}),
]


@pytest.fixture(autouse=True)
def _unlimited(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests ask as fast as they can: the per-caller request rate is not what they test."""
    monkeypatch.setenv("DASHBOARD_RATE_PER_SECOND", "0")
    settings.clear_cache()


def _inquiries(make_event: Callable[..., dict[str, Any]], n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        make_event(
            "inquiry.received",
            event_id=f"inq-{i}",
            client_id=f"c-{i}",
            occurred_at=f"2026-06-{1 + i % 28:02d}T12:00:00+00:00",
        )
        for i in range(start, start + n)
    ]


def _from_replica(dashboard_app: Any, path: str, bearer: str | None, **params: str) -> Any:
    """Ask until the replica serves (a process vouches for a replica once it has seen it pass a primary position)."""
    deadline = time.monotonic() + 60
    while True:
        answer = get(dashboard_app, path, bearer, None, **params)
        if answer.headers["X-Read-Source"] == "replica" or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def _lag_bound(monkeypatch: pytest.MonkeyPatch, seconds: str) -> None:
    monkeypatch.setenv("DATABASE_READ_MAX_LAG_SECONDS", seconds)
    settings.clear_cache()


def _count(answer: Any) -> int:
    return int(value(answer.json, "inquiries")["value"])


def test_answers_from_a_caught_up_replica_equal_the_primarys(
    read_replica: StreamingReplica,
    make_org: Callable[..., Any],
    make_event: Callable[..., dict[str, Any]],
    ingest_app: Any,
    dashboard_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = make_org()
    post(ingest_app, org.ingest_key, _inquiries(make_event, 12))
    drain(views=True)
    read_replica.wait_caught_up()
    bearer = token(org.id)
    served = {}
    for path, params in PATHS:
        answer = _from_replica(dashboard_app, path, bearer, **params)
        assert answer.status_code == 200, answer.json
        assert answer.headers["X-Read-Source"] == "replica"
        assert "X-Read-Fallback" not in answer.headers
        assert datetime.fromisoformat(answer.headers["X-Data-As-Of"]) <= datetime.now(UTC)
        served[path] = (answer.headers["ETag"], answer.data)
    assert _count(_from_replica(dashboard_app, PATHS[0][0], bearer, **PATHS[0][1])) == 12
    monkeypatch.delenv("DATABASE_READ_URL")
    settings.clear_cache()
    answercache.cache.clear()
    for path, params in PATHS:
        answer = get(dashboard_app, path, bearer, None, **params)
        assert answer.headers["X-Read-Source"] == "primary"
        assert (answer.headers["ETag"], answer.data) == served[path], path


def test_etag_and_numbers_come_from_one_snapshot_while_the_primary_is_written(
    read_replica: StreamingReplica,
    make_org: Callable[..., Any],
    make_event: Callable[..., dict[str, Any]],
    ingest_app: Any,
    dashboard_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = make_org()
    bearer = token(org.id)
    post(ingest_app, org.ingest_key, _inquiries(make_event, 1))
    drain()
    read_replica.wait_caught_up()
    replica_url = settings.get_settings().database_read_url
    assert replica_url
    params = {"from": "2026-06-01", "to": "2026-06-30"}
    assert _from_replica(dashboard_app, "/v1/metrics/overview", bearer, **params).headers["X-Read-Source"] == "replica"
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(1, 31):  # one aggregate batch (one data version) per inquiry
                post(ingest_app, org.ingest_key, _inquiries(make_event, 1, start=i))
                drain()
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    seen: dict[str, set[int]] = {}
    sources: set[str] = set()
    i = 0
    while writer.is_alive() or i < 4:
        # Alternate replica and primary reads, computing every answer afresh (no cached bodies).
        if i % 2:
            monkeypatch.delenv("DATABASE_READ_URL")
        else:
            monkeypatch.setenv("DATABASE_READ_URL", replica_url)
        settings.clear_cache()
        answercache.cache.clear()
        answer = get(dashboard_app, "/v1/metrics/overview", bearer, None, **params)
        assert answer.status_code == 200, answer.json
        sources.add(answer.headers["X-Read-Source"])
        seen.setdefault(answer.headers["ETag"], set()).add(_count(answer))
        i += 1
    writer.join()
    assert not errors, errors
    assert sources == {"primary", "replica"}
    assert len(seen) > 1, "the reads saw no write"
    # Each ETag names one version; whichever server served it, it always came with that version's numbers.
    assert {etag: counts for etag, counts in seen.items() if len(counts) > 1} == {}


def test_a_replica_paused_past_the_lag_bound_never_answers_newer_and_the_primary_takes_over(
    read_replica: StreamingReplica,
    make_org: Callable[..., Any],
    make_event: Callable[..., dict[str, Any]],
    ingest_app: Any,
    dashboard_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = make_org()
    bearer = token(org.id)
    params = {"from": "2026-06-01", "to": "2026-06-30"}
    post(ingest_app, org.ingest_key, _inquiries(make_event, 3))
    drain()
    read_replica.wait_caught_up()
    before = _from_replica(dashboard_app, "/v1/metrics/overview", bearer, **params)
    assert before.headers["X-Read-Source"] == "replica" and _count(before) == 3
    read_replica.pause()
    written_at = datetime.now(UTC)
    post(ingest_app, org.ingest_key, _inquiries(make_event, 4, start=3))
    drain()
    _lag_bound(monkeypatch, "1")  # a short bound, so that the paused replica is soon past it
    deadline = time.monotonic() + 60
    while True:
        answer = get(dashboard_app, "/v1/metrics/overview", bearer, None, **params)
        if answer.headers["X-Read-Source"] == "primary":
            break
        # Until the bound passes the paused replica may serve, but only what it has, under its own version.
        assert (answer.headers["ETag"], _count(answer)) == (before.headers["ETag"], 3)
        assert datetime.fromisoformat(answer.headers["X-Data-As-Of"]) <= written_at
        assert time.monotonic() < deadline, "the primary never took over from the paused replica"
        time.sleep(0.1)
    assert answer.headers["X-Read-Fallback"] == "replica_lagging"
    assert _count(answer) == 7 and answer.headers["ETag"] != before.headers["ETag"]
    assert replica.counts().get("replica_lagging", 0) >= 1
    _lag_bound(monkeypatch, "10")
    read_replica.resume()
    read_replica.wait_caught_up()
    caught_up = _from_replica(dashboard_app, "/v1/metrics/overview", bearer, **params)
    assert caught_up.headers["X-Read-Source"] == "replica"
    assert (caught_up.headers["ETag"], _count(caught_up)) == (answer.headers["ETag"], 7)


def test_a_replica_that_is_down_leaves_the_primary_to_answer(
    read_replica: StreamingReplica,
    make_org: Callable[..., Any],
    make_event: Callable[..., dict[str, Any]],
    ingest_app: Any,
    dashboard_app: Any,
) -> None:
    org = make_org()
    bearer = token(org.id)
    params = {"from": "2026-06-01", "to": "2026-06-30"}
    post(ingest_app, org.ingest_key, _inquiries(make_event, 5))
    drain()
    read_replica.wait_caught_up()
    up = _from_replica(dashboard_app, "/v1/metrics/overview", bearer, **params)
    assert up.headers["X-Read-Source"] == "replica"
    read_replica.stop()
    for _ in range(3):  # the pooled connection is dead, then new ones are refused, then the replica is left alone
        down = get(dashboard_app, "/v1/metrics/overview", bearer, None, **params)
        assert down.status_code == 200, down.json
        assert (down.headers["X-Read-Source"], down.headers["X-Read-Fallback"]) == ("primary", "replica_unreachable")
        assert (down.headers["ETag"], down.data) == (up.headers["ETag"], up.data)


def test_dashboard_writes_go_to_the_primary_while_reads_go_to_the_replica(
    read_replica: StreamingReplica,
    make_org: Callable[..., Any],
    dashboard_app: Any,
) -> None:
    org = make_org()
    with db.transaction() as conn:
        admin = apikeys.create(conn, org.id, ["admin"], name="admin").key
    assert _from_replica(dashboard_app, "/v1/reports", token(org.id)).headers["X-Read-Source"] == "replica"
    # The replica is read-only: a write sent there would fail. The link is made (on the primary)...
    created = dashboard_app.post(
        "/v1/share-links",
        json={"label": "partner", "expires_in": "12h", "panels": ["overview"]},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert created.status_code == 201, created.json
    # ...and opens the dashboard at once: credentials are checked on the primary, answers read on the replica.
    shared = _from_replica(dashboard_app, "/v1/metrics/overview", None, share=created.json["token"])
    assert shared.status_code == 200, shared.json
    assert shared.headers["X-Read-Source"] == "replica"
