from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.core import apikeys, db, settings
from shared.tools import cli
from shared.validate import replay, validation
from tests import factories


def _post(app: Any, key: str, events: list[dict[str, Any]]) -> Any:
    answer = app.post(
        "/v1/events",
        data=json.dumps({"events": events}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 202
    return answer.json


def _drain() -> validation.BatchOutcome:
    totals, more = validation.drain(db.transaction)
    assert not more
    return totals


def _skew(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    monkeypatch.setenv("MAX_FUTURE_SKEW_SECONDS", str(seconds))
    settings.clear_cache()


def _letters(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select id, stage, replay_state, attempts, reasons from analytics_dead_letters order by id"
    ).fetchall()


def test_replay_after_a_fix_stores_and_hands_to_aggregation_exactly_once(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = make_org()
    _skew(monkeypatch, 60)  # a clock-skew limit too strict for this sender: its events are rejected
    ahead = datetime.now(UTC) + timedelta(minutes=20)
    events = [factories.make_event("payment.succeeded", occurred_at=ahead) for _ in range(3)]
    assert _post(ingest_app, org.ingest_key, events)["accepted"] == 0
    assert [r[1:3] for r in _letters(conn)] == [("ingest", "pending")] * 3

    _skew(monkeypatch, 3600)  # the fix
    with db.transaction() as c:
        result = replay.replay(c, replay.LetterFilter(organization_id=org.id))
    assert (result.replayed, result.messages, result.skipped) == (3, 1, 0)
    with db.transaction() as c:  # replaying again chooses nothing: they are replayed, not pending
        assert replay.replay(c, replay.LetterFilter(organization_id=org.id)).replayed == 0
    outcome = _drain()
    assert (outcome.stored, outcome.rejected) == (3, 0)
    stored = conn.execute("select event_id from analytics_events order by event_id").fetchall()
    assert sorted(r[0] for r in stored) == sorted(e["event_id"] for e in events)
    handed = [m[0] for m in conn.execute("select message from pgmq.q_aggregate")]
    assert len(handed) == 1 and len(handed[0]["ids"]) == 3
    assert [r[1:3] for r in _letters(conn)] == [("validate", "replayed")] * 3

    # Even if the same letters were replayed twice (an operator forcing it), the event keys store them once.
    conn.execute("update analytics_dead_letters set replay_state = 'pending'")
    with db.transaction() as c:
        assert replay.replay(c, replay.LetterFilter(organization_id=org.id)).replayed == 3
    outcome = _drain()
    assert (outcome.stored, outcome.duplicates) == (0, 3)
    assert conn.execute("select count(*) from analytics_events").fetchone() == (3,)
    assert conn.execute("select count(*) from pgmq.q_aggregate").fetchone() == (1,)


def test_a_replayed_letter_that_fails_again_becomes_failed_with_its_new_reasons(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = make_org()
    _skew(monkeypatch, 60)
    event = factories.make_event("app.action", occurred_at=datetime.now(UTC) + timedelta(minutes=20))
    event["surprise"] = True
    _post(ingest_app, org.ingest_key, [event])
    [(letter_id, _, _, _, reasons)] = _letters(conn)
    assert {r["type"] for r in reasons} >= {"extra_forbidden"}
    assert any("future" in r["msg"] for r in reasons)

    _skew(monkeypatch, 3600)  # fixes the clock problem only
    with db.transaction() as c:
        assert replay.replay(c, replay.LetterFilter(ids=[letter_id])).replayed == 1
    assert _drain().rejected == 1
    [(same_id, stage, state, attempts, new_reasons)] = _letters(conn)
    assert (same_id, stage, state, attempts) == (letter_id, "validate", "failed", 2)
    assert [r["type"] for r in new_reasons] == ["extra_forbidden"]  # the clock reason is gone
    assert conn.execute("select count(*) from analytics_events").fetchone() == (0,)

    with db.transaction() as c:  # failed letters can be replayed again after the next fix
        assert replay.replay(c, replay.LetterFilter(states=["failed"])).replayed == 1


def test_listing_filters_by_organization_source_reason_state_and_time(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    org, other = make_org(), make_org(name="Other")
    _post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event("app.action") | {"surprise": 1},
            factories.make_event("payment.succeeded", currency="EURO"),
        ],
    )
    _post(ingest_app, other.ingest_key, [factories.make_event("app.action") | {"surprise": 2}])
    conn.execute(
        "update analytics_dead_letters set source = 'stripe' where payload ? 'data' "
        "and payload -> 'data' ->> 'currency' = 'EURO'"
    )
    with db.transaction() as c:
        mine = replay.list_letters(c, replay.LetterFilter(organization_id=org.id))
        extra = replay.list_letters(c, replay.LetterFilter(reason="extra_forbidden"))
        stripe = replay.list_letters(c, replay.LetterFilter(source="stripe"))
        future = replay.list_letters(c, replay.LetterFilter(since=datetime.now(UTC) + timedelta(hours=1)))
        old = replay.list_letters(c, replay.LetterFilter(until=datetime.now(UTC) - timedelta(hours=1)))
        failed = replay.list_letters(c, replay.LetterFilter(states=["failed"]))
    assert len(mine) == 2 and {x.organization_id for x in mine} == {org.id}
    assert len(extra) == 2 and {x.organization_id for x in extra} == {org.id, other.id}
    assert len(stripe) == 1 and stripe[0].source == "stripe"
    assert future == [] and old == [] and failed == []
    assert cli.main(["dead-letters", "list", "--org", str(org.id), "--reason", "extra_forbidden", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [x["organization_id"] for x in listed] == [str(org.id)]


def test_the_replay_command_needs_a_filter_and_reports_what_it_queued(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    org = make_org()
    _post(ingest_app, org.ingest_key, [factories.make_event("app.action") | {"surprise": 1}])
    assert cli.main(["dead-letters", "replay"]) == 2
    assert cli.main(["dead-letters", "replay", "--org", str(org.id), "--reason", "extra_forbidden", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["replayed"] == 1 and out["messages"] == 1
    assert conn.execute("select count(*) from pgmq.q_ingest").fetchone() == (1,)


def _admin_key(org_id: Any) -> str:
    with db.transaction() as c:
        return apikeys.create(c, org_id, ["admin"], name="admin").key


def test_organization_admins_list_and_replay_their_own_dead_letters_over_http(
    ingest_app: Any, monitor_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org, other = make_org(), make_org(name="Other")
    _post(ingest_app, org.ingest_key, [factories.make_event("app.action") | {"surprise": 1}])
    _post(ingest_app, other.ingest_key, [factories.make_event("app.action") | {"surprise": 2}])
    key = _admin_key(org.id)
    auth = {"Authorization": f"Bearer {key}"}
    assert monitor_app.get("/v1/dead-letters").status_code == 401
    assert monitor_app.get("/v1/dead-letters", headers={"Authorization": f"Bearer {org.read_key}"}).status_code == 403
    listed = monitor_app.get("/v1/dead-letters?reason=extra_forbidden", headers=auth)
    assert listed.status_code == 200
    letters = listed.json["dead_letters"]
    assert len(letters) == 1 and letters[0]["organization_id"] == str(org.id)
    bad = monitor_app.get("/v1/dead-letters?state=lost&limit=0", headers=auth)
    assert bad.status_code == 400 and {tuple(f["loc"]) for f in bad.json["fields"]} == {("state",), ("limit",)}

    row = conn.execute("select id from analytics_dead_letters where organization_id = %s", (other.id,)).fetchone()
    assert row is not None
    other_id = row[0]
    replayed = monitor_app.post("/v1/dead-letters/replay", json={"ids": [letters[0]["id"], other_id]}, headers=auth)
    assert replayed.status_code == 202
    assert replayed.json["ids"] == [letters[0]["id"]]  # the other organization's letter is out of reach
    nothing = monitor_app.post("/v1/dead-letters/replay", json={"ids": [other_id]}, headers=auth)
    assert nothing.status_code == 200 and nothing.json["replayed"] == 0
    invalid = monitor_app.post("/v1/dead-letters/replay", json={"ids": "all", "colour": 1}, headers=auth)
    assert invalid.status_code == 400
    assert {tuple(f["loc"]) for f in invalid.json["fields"]} == {("ids",), ("colour",)}
    assert (
        monitor_app.post("/v1/dead-letters/replay", data="{", content_type="application/json", headers=auth).json[
            "error"
        ]
        == "invalid_json"
    )
