"""Rollup corrections: when raw events are removed (erasure), the rollups built from them must be recomputed.

Each window [occurred_from, occurred_to) of one organization is recorded in `analytics_rollup_rebuilds` (an
audit of corrections) and rebuilt from the remaining raw events with the aggregation stage's
`analytics_rebuild_v1`, in the caller's transaction, so the raw-event removal and the rollup correction commit
together. Retention never requests corrections: rollups keep the history.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from pydantic import BaseModel

from shared.core import db, queries


class Window(BaseModel):
    occurred_from: datetime
    occurred_to: datetime
    events_removed: int


class RebuildOutcome(BaseModel):
    request_ids: list[int]


def daily_windows(moments: list[datetime]) -> list[Window]:
    """One window per UTC day that had removed events (rollup buckets never straddle those windows' edges
    by more than the organization's UTC offset, so the rebuild function widens them to its own buckets)."""
    days = Counter(m.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) for m in moments)
    return [
        Window(occurred_from=d, occurred_to=d + timedelta(days=1), events_removed=n) for d, n in sorted(days.items())
    ]


def request_rebuild(conn: Connection[Any], organization_id: UUID, windows: list[Window], reason: str) -> RebuildOutcome:
    """Record the windows to correct and rebuild them now, in the caller's transaction."""
    if not windows:
        return RebuildOutcome(request_ids=[])
    ids = [
        int(i)
        for i in db.fetch_scalars(
            conn,
            "rollup_rebuild_request",
            {
                "organization_id": organization_id,
                "reason": reason,
                "froms": [w.occurred_from for w in windows],
                "tos": [w.occurred_to for w in windows],
                "counts": [w.events_removed for w in windows],
            },
        )
    ]
    for w in windows:
        conn.execute(
            queries.get("rollup_rebuild_run"),
            {
                "organization_id": str(organization_id),
                "from": w.occurred_from.isoformat(),
                "to": w.occurred_to.isoformat(),
            },
        )
    # The booking, money and client state is per organization, not per window: recomputed once.
    conn.execute(queries.get("rebuild_state"), {"organization_id": str(organization_id), "queue": "aggregate"})
    conn.execute(queries.get("rollup_rebuild_done"), {"ids": ids})
    return RebuildOutcome(request_ids=ids)


def forget_clients(conn: Connection[Any], organization_id: UUID, client_ids: list[str]) -> None:
    """Remove erased clients from the client state, in the caller's transaction (a rebuild alone keeps a client
    first seen before every stored event, as history that retention removed the events of)."""
    conn.execute(queries.get("forget_client_state"), {"organization_id": organization_id, "client_ids": client_ids})
