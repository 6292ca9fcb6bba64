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

Why a poll per stream rather than one shared poller per organization: the poll holds a pooled connection for one
primary-key read (about a millisecond) and none while it sleeps, and the streams of a process are capped
(`dashboard_live_max_per_org`, `dashboard_live_max_total`), so at most `dashboard_live_max_total` short reads
run every poll interval; a shared poller would save little of that and would read as one viewer on behalf of
the others, where each stream now reads under its own viewer's RLS, so a revoked membership ends its stream at
the next poll. Each stream does hold a server thread; the caps keep them from taking every thread, and one
organization from taking every stream.

A comment line is the heartbeat of a quiet stream; the stream ends after `dashboard_live_max_seconds` so a
worker thread is never held for ever, `retry:` tells the browser's EventSource when to reconnect, and the
`Last-Event-ID` it then sends (the last version it saw) lets the new stream report a change made meanwhile.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import Generator, Iterator
from uuid import UUID

from shared.core import db, errors
from shared.dashboard import auth, serving
from shared.dashboard import settings as dashboard_settings


class Busy(Exception):
    """Too many live streams are open (for the organization, or on this instance); try again later."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Slots:
    """The open streams of this process, by organization, each with the time it ends at the latest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ends: dict[UUID, dict[int, float]] = {}
        self._next = 0

    def acquire(self, organization_id: UUID, per_org: int, total: int, ends_at: float) -> int:
        """A slot's token, or `Busy` with the seconds until the first stream that would free a slot ends."""
        now = time.monotonic()
        with self._lock:
            mine = self._ends.get(organization_id, {})
            if len(mine) >= per_org:
                raise Busy(
                    f"this organization already has {len(mine)} live streams open (at most {per_org})",
                    min(mine.values()) - now,
                )
            every = [end for ends in self._ends.values() for end in ends.values()]
            if len(every) >= total:
                raise Busy(f"this server has {len(every)} live streams open (at most {total})", min(every) - now)
            self._next += 1
            self._ends.setdefault(organization_id, {})[self._next] = ends_at
            return self._next

    def release(self, organization_id: UUID, token: int) -> None:
        with self._lock:
            mine = self._ends.get(organization_id, {})
            mine.pop(token, None)
            if not mine:
                self._ends.pop(organization_id, None)

    def count(self, organization_id: UUID | None = None) -> int:
        with self._lock:
            if organization_id is not None:
                return len(self._ends.get(organization_id, {}))
            return sum(len(ends) for ends in self._ends.values())


# The process's open streams; the dashboard's live endpoint checks the caps here.
slots = _Slots()


class _Stream(Iterator[str]):
    """The stream's chunks; closing it (the server does when the client goes or the stream ends) frees its slot,
    and so does its collection if a server never closed it."""

    def __init__(self, chunks: Generator[str, None, None], organization_id: UUID, token: int) -> None:
        self._chunks = chunks
        self._release = weakref.finalize(self, slots.release, organization_id, token)

    def __next__(self) -> str:
        try:
            return next(self._chunks)
        except BaseException:
            self._release()
            raise

    def close(self) -> None:
        try:
            self._chunks.close()
        finally:
            self._release()


def open_stream(viewer: auth.Viewer, last_event_id: str | None = None) -> Iterator[str]:
    """The viewer's stream, if the caps allow one more (else `Busy`). The first read happens now, before any
    byte is sent, so a caller whose organization does not exist gets a 403 rather than an empty stream."""
    conf = dashboard_settings.get()
    org = viewer.organization_id
    ends_at = time.monotonic() + conf.dashboard_live_max_seconds
    token = slots.acquire(org, conf.dashboard_live_max_per_org, conf.dashboard_live_max_total, ends_at)
    try:
        current = _version(viewer)
        if current is None:
            raise auth.AuthError(403, "the caller's organization does not exist")
    except BaseException:
        slots.release(org, token)
        raise
    seen = current
    if last_event_id is not None and last_event_id.strip().isdigit():
        seen = min(int(last_event_id), current)  # a reconnect: report what changed since that version
    return _Stream(_follow(viewer, seen), org, token)


def _version(viewer: auth.Viewer) -> int | None:
    # Read where the answers are read (the replica when it may serve): a change is announced once the server
    # that will answer the dashboard's next question has it.
    with serving.read_as_viewer(viewer) as snap:
        version = db.fetch_scalar(snap.conn, "dashboard_live_version")
    return None if version is None else int(version)


def _change(viewer: auth.Viewer, version: int) -> str:
    payload = {"organization_id": str(viewer.organization_id), "data_version": version}
    return f"event: change\nid: {version}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"


def _follow(viewer: auth.Viewer, seen: int) -> Generator[str, None, None]:
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
