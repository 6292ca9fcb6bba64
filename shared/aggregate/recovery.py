"""Recovery of the rollups: compare any window with a recomputation from the raw events, and rebuild it.

Both run in the database (`analytics_reconcile_v1`, `analytics_rebuild_v1`) under the organization's exclusive
rollup lock, the lock aggregate holds shared while it applies a batch. So they are safe while ingest runs:
they never see half a batch, and events still waiting on the aggregate queue are left out of the recomputation
because aggregate will add them. Windows are widened to whole 15-minute buckets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Connection
from pydantic import BaseModel

from shared.aggregate import settings as aggregate_settings
from shared.core import db, errors


class Mismatch(BaseModel):
    """One rollup row (kind 'rollup') or active-client entry (kind 'active_client') that differs."""

    kind: str
    metric: str | None
    bucket: datetime
    dim1: str
    dim2: str
    currency: str
    expected_events: int
    actual_events: int
    expected_amount_minor: int
    actual_amount_minor: int
    expected_value_sum: int
    actual_value_sum: int
    expected_value_count: int
    actual_value_count: int


class RebuildResult(BaseModel):
    rows_deleted: int
    rows_written: int
    clients_written: int
    data_version: int


def _check(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise errors.InvalidInput("--from and --to must carry a UTC offset, e.g. 2026-11-01T00:00:00Z")
    if end <= start:
        raise errors.InvalidInput("--to must be after --from")


def reconcile(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime) -> list[Mismatch]:
    """Every difference between the rollups of [start, end) and the raw events; empty means exact."""
    _check(start, end)
    return db.fetch_all(
        conn,
        "reconcile_rollups",
        {
            "organization_id": org_id,
            "from": start,
            "to": end,
            "queue": aggregate_settings.get().aggregate_queue,
        },
        Mismatch,
    )


def rebuild(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime) -> RebuildResult:
    """Replace the rollups of [start, end) by a recomputation from the raw events (caller's transaction;
    bumps data_version, publishes a change notice and flags the views for refresh). The organization's
    booking, money and client state (not windowed: a booking's first confirmation and its payments may lie
    anywhere in time) is recomputed whole."""
    _check(start, end)
    result = db.fetch_one(
        conn,
        "rebuild_rollups",
        {
            "organization_id": org_id,
            "from": start,
            "to": end,
            "queue": aggregate_settings.get().aggregate_queue,
        },
        RebuildResult,
    )
    assert result is not None
    rebuild_state(conn, org_id)
    return result


def rebuild_state(conn: Connection[Any], org_id: UUID) -> int:
    """Recompute the organization's booking, money and client state from its processed events (caller's
    transaction); returns the rows written."""
    queue = aggregate_settings.get().aggregate_queue
    return int(db.fetch_scalar(conn, "rebuild_state", {"organization_id": org_id, "queue": queue}) or 0)
