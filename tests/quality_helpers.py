"""Arrangement helpers for the data quality tests: stored events and intake counters written directly."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

_ids = itertools.count(1)


def store_events(
    conn: psycopg.Connection[Any],
    org: UUID,
    *,
    source: str = "api",
    event_type: str = "app.action",
    occurred_at: datetime,
    stored_at: datetime | None = None,
    n: int = 1,
    client_id: str | None = None,
    properties: str = "{}",
) -> list[str]:
    """Store n events (key + row) as the validate stage would, and count them in the source stats."""
    ids = []
    for _ in range(n):
        event_id = f"arranged-{next(_ids)}"
        row = conn.execute(
            "insert into analytics_event_keys (organization_id, event_id, occurred_at) "
            "values (%s, %s, %s) returning id",
            (org, event_id, occurred_at),
        ).fetchone()
        assert row is not None
        conn.execute(
            """insert into analytics_events (id, organization_id, event_id, event_type, schema_version,
            occurred_at, received_at, stored_at, source, client_id, properties)
            values (%s, %s, %s, %s, 1, %s, %s, %s, %s, %s, %s::jsonb)""",
            (
                row[0],
                org,
                event_id,
                event_type,
                occurred_at,
                stored_at or occurred_at,
                stored_at or occurred_at,
                source,
                client_id,
                properties,
            ),
        )
        ids.append(event_id)
    bucket = (stored_at or occurred_at).replace(minute=0, second=0, microsecond=0)
    bump_stats(conn, org, source, bucket, stored=n)
    return ids


def bump_stats(
    conn: psycopg.Connection[Any],
    org: UUID,
    source: str,
    bucket: datetime,
    *,
    stored: int = 0,
    duplicates: int = 0,
    rejected: int = 0,
) -> None:
    conn.execute(
        """insert into analytics_source_stats (organization_id, source, bucket, stored, duplicates, rejected)
        values (%s, %s, %s, %s, %s, %s) on conflict (organization_id, source, bucket) do update
        set stored = analytics_source_stats.stored + excluded.stored,
            duplicates = analytics_source_stats.duplicates + excluded.duplicates,
            rejected = analytics_source_stats.rejected + excluded.rejected""",
        (org, source, bucket, stored, duplicates, rejected),
    )
