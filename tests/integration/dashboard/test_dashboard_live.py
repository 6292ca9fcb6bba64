"""The live change feed: only the caller's notices, reconnection with Last-Event-ID."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.integration.dashboard import support


def test_the_live_stream_forwards_only_the_callers_change_notices_and_ends(
    dashboard_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    support.live_settings(monkeypatch, max_seconds="1.5", heartbeat_seconds="0.3")
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    answer = dashboard_app.get("/v1/events/live", headers={"Authorization": f"Bearer {mine.read_key}"}, buffered=False)
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    chunks = iter(answer.response)
    opening = next(chunks).decode()  # the stream is open: the version it started from is read
    for org, version in ((theirs, 7), (mine, 3)):  # what aggregate does to data_version, in the same database
        conn.execute("update organizations set data_version = %s where id = %s", (version, org.id))
    text = opening + b"".join(chunks).decode()
    answer.close()
    assert support.changes(text) == [{"organization_id": str(mine.id), "data_version": 3}]
    assert "event: change\nid: 3\n" in text
    assert ": heartbeat" in text and "event: end" in text
    assert support.get(dashboard_app, "/v1/events/live", None).status_code == 401


def test_a_reconnecting_live_stream_reports_a_change_made_while_it_was_away(
    dashboard_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    support.live_settings(monkeypatch, max_seconds="0.2", heartbeat_seconds="15")
    org = make_org()
    conn.execute("update organizations set data_version = 5 where id = %s", (org.id,))
    again = support.get(dashboard_app, "/v1/events/live", org.read_key, {"Last-Event-ID": "4"}).get_data(as_text=True)
    assert support.changes(again) == [{"organization_id": str(org.id), "data_version": 5}]
    fresh = support.get(dashboard_app, "/v1/events/live", org.read_key).get_data(as_text=True)
    assert support.changes(fresh) == [] and "event: end" in fresh  # a new stream starts from the current version
    unknown = support.get(dashboard_app, "/v1/events/live", support.token("00000000-0000-4000-8000-00000000dead"))
    assert unknown.status_code == 403  # refused before the stream starts, not an empty stream
