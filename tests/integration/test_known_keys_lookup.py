"""Ingest asks whether a request's event ids are already stored on every request. That lookup must cost one
primary-key probe per id whatever the planner knows: the keys table of a busy organization grows faster than
autovacuum analyzes it, and a plan chosen on stale statistics that reads every key of the organization made the
lookup grow with the organization's history (71 ms instead of 0.9 ms at 300,000 keys) until ingest fell behind."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from shared.core import queries


def _plan(conn: psycopg.Connection[Any], query: str, params: dict[str, Any]) -> str:
    rows = conn.execute(sql.SQL("explain (analyze, costs off) ") + sql.SQL(query), params).fetchall()
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize("name", ["queue_unless_known", "known_event_ids"])
def test_the_known_ids_lookup_probes_each_id_even_on_a_table_grown_since_its_last_analyze(
    conn: psycopg.Connection[Any], name: str
) -> None:
    org = uuid.uuid4()
    conn.execute("analyze public.analytics_event_keys")  # statistics of an empty table, as after a deploy
    conn.execute(
        "insert into public.analytics_event_keys (organization_id, event_id, occurred_at) "
        "select %s, 'stored-' || g, now() from generate_series(1, 50000) g",
        (org,),
    )
    ids = [f"stored-{i}" for i in range(1, 300, 3)] + [f"new-{i}" for i in range(200)]
    params = {"organization_id": org, "event_ids": ids, "queue": "ingest", "message": '{"kind": "probe"}'}
    conn.execute("begin")
    try:
        plan = _plan(conn, queries.get(name), params)
    finally:
        conn.execute("rollback")  # queue_unless_known would queue the probe message
    assert "analytics_event_keys_pkey" in plan
    assert "Rows Removed by Filter" not in plan, plan
    assert "Bitmap Heap Scan on analytics_event_keys" not in plan, plan
