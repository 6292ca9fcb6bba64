"""Change notices as a server-sent event stream, for local use (`wedsync-analytics up`).

The stream LISTENs on the `analytics_changes` channel with its own connection (LISTEN cannot go through the
transaction pooler, and must not hold a pooled connection), forwards the notices of the caller's organization
only, sends a comment line as heartbeat on a quiet stream, and ends after `dashboard_live_max_seconds` so a
worker thread is never held for ever; the `retry:` field tells the browser's EventSource when to reconnect.
pg_notify payloads carry no rows, only the organization id, version and changed window, and are filtered here
in Python because notifications are not subject to RLS. In production Supabase Realtime's private channel
`analytics:<org id>` carries the same notice (docs/aggregation.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from psycopg import sql

from shared import auth, db, settings

CHANNEL = "analytics_changes"


def stream(viewer: auth.Viewer) -> Iterator[str]:
    conf = settings.get_settings()
    deadline = time.monotonic() + conf.dashboard_live_max_seconds
    org = str(viewer.organization_id)
    with db.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("listen {}").format(sql.Identifier(CHANNEL)))
        yield f"retry: 3000\n: listening for changes of organization {org}\n\n"
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for notice in conn.notifies(timeout=min(conf.dashboard_live_heartbeat_seconds, left)):
                try:
                    payload = json.loads(notice.payload)
                except ValueError:
                    continue
                if isinstance(payload, dict) and payload.get("organization_id") == org:
                    version = payload.get("data_version", "")
                    yield f"event: change\nid: {version}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"
                if time.monotonic() >= deadline:
                    break
            yield ": heartbeat\n\n"
        yield 'event: end\ndata: {"reason": "max_duration"}\n\n'
