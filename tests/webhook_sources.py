"""Webhook sources from a test: add one, deliver a signed body to its URL on ingest, drain validate, read what
was counted and stored."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from shared.core import db
from shared.ingest import webhooks
from shared.validate import validation


def add_source(org_id: UUID, provider: str, secret: str | None = None, **options: Any) -> webhooks.NewSource:
    with db.transaction() as c:
        return webhooks.create(c, org_id, provider, secret=secret, options=webhooks.SourceSettings(**options))


def deliver(app: Any, new: webhooks.NewSource, raw: bytes, headers: dict[str, str]) -> Any:
    path = f"/v1/webhooks/{new.source.provider}/{new.source.id}"
    return app.post(path, data=raw, headers=headers, content_type="application/json")


def drain_validate() -> validation.BatchOutcome:
    totals, more = validation.drain(db.transaction)
    assert not more
    return totals


def queued(conn: psycopg.Connection[Any]) -> int:
    return int(conn.execute("select count(*) from pgmq.q_ingest").fetchone()[0])  # type: ignore[index]


def source_stats(conn: psycopg.Connection[Any], source: str) -> dict[str, int]:
    row = conn.execute(
        "select coalesce(sum(received),0), coalesce(sum(stored),0), coalesce(sum(duplicates),0), "
        "coalesce(sum(rejected),0), coalesce(sum(ignored),0), coalesce(sum(refused),0) "
        "from analytics_source_stats where source = %s",
        (source,),
    ).fetchone()
    assert row is not None
    return dict(zip(("received", "stored", "duplicates", "rejected", "ignored", "refused"), map(int, row), strict=True))


def stored_payments(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select event_type, event_id, amount_minor, currency, booking_id, client_id, source, "
        "properties from analytics_events where event_type like 'payment.%%' "
        "order by event_type, event_id"
    ).fetchall()
