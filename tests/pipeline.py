"""Driving the pipeline from a test, the way the functions do: post a batch to ingest, drain validate, read what
aggregate made."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from shared.core import db
from shared.validate import validation


def post_events(app: Any, key: str, batch: list[dict[str, Any]]) -> None:
    answer = app.post(
        "/v1/events",
        data=json.dumps({"events": batch}),
        headers={"Authorization": f"Bearer {key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.json


def validate_all() -> None:
    assert not validation.drain(db.transaction)[1]


def rollup_events(conn: psycopg.Connection[Any], org_id: Any) -> dict[str, int]:
    rows = conn.execute(
        "select metric, sum(events)::int from analytics_rollups where organization_id = %s group by 1",
        (org_id,),
    ).fetchall()
    return dict(rows)


def queue_length(conn: psycopg.Connection[Any], queue: str) -> int:
    row = conn.execute("select queue_length from pgmq.metrics(%s)", (queue,)).fetchone()
    assert row is not None
    return int(row[0])
