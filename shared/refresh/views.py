"""Refreshing the analytics materialized views: debounced when their inputs change, scheduled as a safety net.

Aggregate appends a change row per organization whose funnel inputs (inquiries, bookings, cancellations,
payments) changed, and queues one refresh message delayed by REFRESH_DEBOUNCE_SECONDS unless one already
waits. The refresher consumes the messages, takes the committed change rows and refreshes every view
CONCURRENTLY (the dashboard keeps reading the old contents meanwhile) in dependency order, logging when and
how long per organization, then bumps those organizations' data_version and publishes a `views` change notice.
A change committed while a refresh runs stays for the next one, so nothing is ever marked fresh that the
refresh did not see. Only one refresher runs at a time (a transaction advisory lock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection, sql
from pydantic import BaseModel

from shared.core import db, queries, queues
from shared.refresh import settings as refresh_settings

Transaction = Callable[[], AbstractContextManager[Connection[Any]]]


class RefreshOutcome(BaseModel):
    """What one refresher call did."""

    refreshed: list[str] = []
    organizations: int = 0
    messages: int = 0
    reason: str = ""
    skipped: bool = False
    duration_ms: int = 0


@dataclass(frozen=True)
class _RefreshState:
    """The oldest view-input change not refreshed yet, and the last refresh of the least recently refreshed view."""

    oldest_change: datetime | None
    last_refresh: datetime | None


def _state(conn: Connection[Any]) -> _RefreshState:
    state = db.fetch_one(conn, "view_refresh_state", None, _RefreshState)
    assert state is not None  # a select of two subqueries: always one row
    return state


def _consume_messages(transaction: Transaction) -> int:
    """Delete the waiting refresh messages in their own short transaction, so new changes can queue one."""
    cfg = refresh_settings.get()
    with transaction() as conn:
        batch = queues.read(conn, cfg.refresh_queue, visibility_timeout=60, quantity=1000)
        queues.delete(conn, cfg.refresh_queue, [m.msg_id for m in batch])
    return len(batch)


def _why(conn: Connection[Any], messages: int, force: bool) -> str:
    """Why a refresh is due now, or '' when it is not."""
    cfg = refresh_settings.get()
    state = _state(conn)
    oldest_change, last_refresh = state.oldest_change, state.last_refresh
    now = datetime.now(UTC)
    if force:
        return "forced"
    # A visible message means its debounce period is over; without waiting changes it is only a stale wake-up.
    if oldest_change is not None and (
        messages or now - oldest_change >= timedelta(seconds=cfg.refresh_debounce_seconds)
    ):
        return "inputs changed"
    if last_refresh is None or now - last_refresh >= timedelta(seconds=cfg.refresh_safety_seconds):
        return "schedule"
    return ""


def refresh_all(conn: Connection[Any], orgs: list[UUID]) -> list[str]:
    """Refresh every view concurrently in dependency order in the caller's transaction, logging each."""
    done: list[str] = []
    views: list[str] = db.fetch_scalars(conn, "materialized_views")
    for view in views:
        started = datetime.now(UTC)
        t0 = time.monotonic()
        target = sql.Identifier("public", view)
        conn.execute(sql.SQL("refresh materialized view concurrently {}").format(target))
        conn.execute(
            queries.get("record_view_refresh"),
            {
                "view": view,
                "started": started,
                "ms": int((time.monotonic() - t0) * 1000),
                "orgs": [str(o) for o in orgs],
            },
        )
        done.append(view)
    return done


def _debounce_left(transaction: Transaction) -> float:
    """Seconds until the oldest waiting change is REFRESH_DEBOUNCE_SECONDS old (0: none waits, or it is)."""
    with transaction() as conn:
        oldest_change = _state(conn).oldest_change
    if oldest_change is None:
        return 0.0
    due = oldest_change + timedelta(seconds=refresh_settings.get().refresh_debounce_seconds)
    return max(0.0, float((due - datetime.now(UTC)).total_seconds()))


def run(transaction: Transaction, *, force: bool = False, wait: bool = True) -> RefreshOutcome:
    """Refresh the views if due: a debounce message arrived, changes waited REFRESH_DEBOUNCE_SECONDS, the last
    refresh is older than REFRESH_SAFETY_SECONDS, or `force`. Returns what it did; `skipped` if another
    refresher holds the lock.

    With `wait`, a call that comes while changes are still inside their debounce period (a trigger that fires
    on the insert of the delayed message rather than when it becomes visible) sleeps until the period ends and
    then refreshes, so the views never depend on the safety schedule to catch up.
    """
    t0 = time.monotonic()
    messages = _consume_messages(transaction)
    if wait and not force:
        left = _debounce_left(transaction)
        if left:
            time.sleep(min(left, refresh_settings.get().refresh_debounce_seconds))
    with transaction() as conn:
        if not db.fetch_scalar(conn, "try_refresh_lock"):
            skipped = True
        else:
            skipped = False
            reason = _why(conn, messages, force)
            if not reason:
                return RefreshOutcome(messages=messages)
            orgs: list[UUID] = db.fetch_scalars(conn, "claim_view_changes")
            views = refresh_all(conn, orgs)
            # The dashboard caches by data_version: funnel and cohorts just changed for these organizations.
            conn.execute(queries.get("note_views_refreshed"), {"orgs": [str(o) for o in orgs]}).fetchall()
    # Changes committed while this refresh ran (or while another refresher held the lock) get a new debounced
    # request, in case the request their writer saw waiting was the one consumed above.
    with transaction() as conn:
        if _state(conn).oldest_change is not None:
            request_in(conn)
    if skipped:
        return RefreshOutcome(messages=messages, skipped=True, reason="another refresher is running")
    return RefreshOutcome(
        refreshed=views,
        organizations=len(orgs),
        messages=messages,
        reason=reason,
        duration_ms=int((time.monotonic() - t0) * 1000),
    )


def request_in(conn: Connection[Any]) -> None:
    """Queue one refresh delayed by REFRESH_DEBOUNCE_SECONDS in the caller's transaction, unless one waits."""
    cfg = refresh_settings.get()
    conn.execute(
        queries.get("request_refresh_if_idle"), {"queue": cfg.refresh_queue, "delay": cfg.refresh_debounce_seconds}
    )


def request(transaction: Transaction) -> None:
    """Ask for a debounced refresh (after a rebuild, say), unless one is already waiting."""
    with transaction() as conn:
        request_in(conn)
