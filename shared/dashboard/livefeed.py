"""The dashboard's live feed: a server-sent event each time the caller's organization's data changes.

The stream follows the organization's `data_version`, which every aggregate batch, rebuild, view refresh and
zone change bumps in the same transaction as the change itself. It reads the version as the viewer (role
`authenticated`, RLS) every `dashboard_live_poll_ms` in an ordinary pooled `shared.core.db` transaction, so the same
code runs locally and through Supabase's transaction pooler, where LISTEN does not work; it needs no NOTIFY
either (on Supabase the notices go to Realtime, docs/aggregation.md). Each poll is one primary-key read, and
the stream holds no connection between polls. Changes that land between two polls arrive as one event with
the latest version. The changed window of a notice is not stored where a poll could read it cheaply, so an
event carries the organization and the version only: the dashboard asks again, and its ETag answers are
free when nothing it shows changed.

A comment line is the heartbeat of a quiet stream; the stream ends after `dashboard_live_max_seconds` so a
worker thread is never held for ever, `retry:` tells the browser's EventSource when to reconnect, and the
`Last-Event-ID` it then sends (the last version it saw) lets the new stream report a change made meanwhile.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from shared.core import db, errors
from shared.dashboard import auth, serving
from shared.dashboard import settings as dashboard_settings


def open_stream(viewer: auth.Viewer, last_event_id: str | None = None) -> Iterator[str]:
    """The viewer's stream. The first read happens now, before any byte is sent, so a caller whose organization
    does not exist gets a 403 rather than an empty stream."""
    current = _version(viewer)
    if current is None:
        raise auth.AuthError(403, "the caller's organization does not exist")
    seen = current
    if last_event_id is not None and last_event_id.strip().isdigit():
        seen = min(int(last_event_id), current)  # a reconnect: report what changed since that version
    return _follow(viewer, seen)


def _version(viewer: auth.Viewer) -> int | None:
    with serving.as_viewer(viewer) as conn:
        version = db.fetch_scalar(conn, "dashboard_live_version")
    return None if version is None else int(version)


def _change(viewer: auth.Viewer, version: int) -> str:
    payload = {"organization_id": str(viewer.organization_id), "data_version": version}
    return f"event: change\nid: {version}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"


def _follow(viewer: auth.Viewer, seen: int) -> Iterator[str]:
    conf = dashboard_settings.get()
    start = time.monotonic()
    deadline = start + conf.dashboard_live_max_seconds
    next_beat = start + conf.dashboard_live_heartbeat_seconds
    yield f"retry: 3000\n: following the data version of organization {viewer.organization_id}\n\n"
    version: int | None = seen
    while True:
        try:
            version = _version(viewer)
        except errors.PipelineError as exc:
            if not exc.transient:
                raise
            # A lost connection or a pooler hiccup: the next poll tries again, the stream stays open.
        if version is None:
            yield 'event: end\ndata: {"reason": "organization_gone"}\n\n'
            return
        now = time.monotonic()
        if version > seen:
            seen = version
            next_beat = now + conf.dashboard_live_heartbeat_seconds
            yield _change(viewer, version)
        elif now >= next_beat:
            next_beat = now + conf.dashboard_live_heartbeat_seconds
            yield ": heartbeat\n\n"
        if now >= deadline:
            break
        time.sleep(min(conf.dashboard_live_poll_ms / 1000, deadline - now))
    yield 'event: end\ndata: {"reason": "max_duration"}\n\n'
