"""The change notices the pipeline publishes, read from wherever this database sends them.

`analytics_publish_change_v1` uses Supabase Realtime where its schema exists (a project, the Supabase-like test
cluster: the notice is a row of realtime.messages) and pg_notify on `analytics_changes` otherwise (a plain
PostgreSQL). Tests that check a notice was published read it the same way on both.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import psycopg

Published = Callable[[UUID, float], list[dict[str, Any]]]


@contextlib.contextmanager
def collecting(database_url: str) -> Iterator[Published]:
    """Start collecting before the change; `published(org, timeout)` then waits (at most `timeout` seconds) for
    the organization's first notice and returns its notices, without the message id Realtime adds."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("select to_regclass('realtime.messages') is not null").fetchone()
        on_realtime = bool(row and row[0])
        if not on_realtime:
            conn.execute("listen analytics_changes")

        def published(org: UUID, timeout: float) -> list[dict[str, Any]]:
            deadline = time.monotonic() + timeout
            if not on_realtime:
                heard = [json.loads(n.payload) for n in conn.notifies(timeout=timeout, stop_after=1)]
                return [p for p in heard if p["organization_id"] == str(org)]
            while True:
                rows = conn.execute(
                    "select payload from realtime.messages where topic = %s and event = 'analytics_changes' "
                    "order by inserted_at",
                    (f"analytics:{org}",),
                ).fetchall()
                if rows or time.monotonic() >= deadline:
                    return [{k: v for k, v in r[0].items() if k != "id"} for r in rows]
                time.sleep(0.05)

        yield published
