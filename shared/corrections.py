"""Rollup corrections: when raw events are removed (erasure), the rollups built from them must be recomputed.

This is the hook between this stage and aggregation. A request is a window [occurred_from, occurred_to) of
one organization, recorded in `analytics_rollup_rebuilds` in the caller's transaction. If the aggregation
stage's `public.analytics_rebuild_rollups_v1(organization_id uuid, from timestamptz, to timestamptz)` exists,
it is called for each window in the same transaction (so the raw-event removal and the rollup correction
commit together) and the request is marked done; otherwise the request waits (done_at null) for the
aggregation stage to process it. Retention never requests corrections: rollups keep the history.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from pydantic import BaseModel

from shared import queries


class Window(BaseModel):
    occurred_from: datetime
    occurred_to: datetime
    events_removed: int


class RebuildOutcome(BaseModel):
    request_ids: list[int]
    applied: bool


def daily_windows(moments: list[datetime]) -> list[Window]:
    """One window per UTC day that had removed events (rollup buckets never straddle those windows' edges
    by more than the organization's UTC offset, so the rebuild function widens them to its own buckets)."""
    days = Counter(m.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) for m in moments)
    return [Window(occurred_from=d, occurred_to=d + timedelta(days=1), events_removed=n)
            for d, n in sorted(days.items())]


def request_rebuild(conn: Connection[Any], organization_id: UUID, windows: list[Window], reason: str) -> RebuildOutcome:
    """Record the windows to correct and apply them now when the aggregation stage provides the function."""
    if not windows:
        return RebuildOutcome(request_ids=[], applied=False)
    ids = [int(r[0]) for r in conn.execute(queries.get("rollup_rebuild_request"), {
        "organization_id": organization_id, "reason": reason,
        "froms": [w.occurred_from for w in windows], "tos": [w.occurred_to for w in windows],
        "counts": [w.events_removed for w in windows]})]
    row = conn.execute(queries.get("rollup_rebuild_available")).fetchone()
    if not (row and row[0]):
        return RebuildOutcome(request_ids=ids, applied=False)
    for w in windows:
        conn.execute(queries.get("rollup_rebuild_run"), {
            "organization_id": str(organization_id), "from": w.occurred_from.isoformat(),
            "to": w.occurred_to.isoformat()})
    conn.execute(queries.get("rollup_rebuild_done"), {"ids": ids})
    return RebuildOutcome(request_ids=ids, applied=True)
