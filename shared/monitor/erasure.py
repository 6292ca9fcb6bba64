"""Erasure of one client ("right to be forgotten"): their events, keys, dead letters and queued events go,
the rollups built from them are corrected, and an audit row proves it without holding personal data.

Everything happens in ONE transaction. First the organization's ingest-queue messages are locked, which
waits for a validate batch that holds them, so an event of the client cannot be stored behind the erasure's
back; queued events of the client are removed from their messages. Then the client's personal data is
found: the client id and every pseudonym (`pii:...`, the keyed hashes of emails and phone numbers) in the
client's stored events, plus any emails or phone numbers the operator gives. Every event and dead letter of
the organization holding the client id (as `client_id` or as any value) or one of those pseudonyms is
deleted, with the idempotency keys of the deleted events (so a resend of the client's events would be
stored again: the source must stop sending them). Rollups are corrected through `corrections`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg import Connection, sql
from psycopg.rows import class_row
from pydantic import BaseModel, Field

from shared.aggregate import corrections
from shared.catalog import privacy
from shared.core import db, queries, queues
from shared.ingest import intake
from shared.monitor import settings as monitor_settings


class ErasureReport(BaseModel):
    audit_id: int
    subject_hash: str = Field(description="Keyed hash of the client id: lets an auditor match a request")
    counts: dict[str, int]
    rollup_windows: int
    rollups_corrected: bool = Field(description="False: correction requests wait for the aggregation stage")


@dataclass(frozen=True)
class _Queued:
    """An ingest-queue message of the organization, locked for the erasure."""

    msg_id: int
    message: Any


@dataclass(frozen=True)
class _DeletedEvent:
    event_id: str
    occurred_at: datetime


def subject_hash(organization_id: UUID, client_id: str) -> str:
    key = monitor_settings.get().pii_hash_key.get_secret_value().encode()
    return hmac.new(key, f"erasure:{organization_id}:{client_id}".encode(), hashlib.sha256).hexdigest()


def _mentions(value: Any, needles: set[str]) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, needles) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, needles) for v in value)
    return isinstance(value, str) and value in needles


def _scrub_queue(conn: Connection[Any], organization_id: UUID, needles: set[str]) -> int:
    """Remove the client's events from queued ingest messages; returns how many events were removed."""
    queue = monitor_settings.get().ingest_queue
    table = sql.Identifier("pgmq", f"q_{queue}")
    with conn.cursor(row_factory=class_row(_Queued)) as cur:
        queued = cur.execute(
            sql.SQL(queries.get("erasure_lock_queued")).format(table=table), {"organization_id": str(organization_id)}
        ).fetchall()
    removed = 0
    for q in queued:
        events = q.message.get("events") if isinstance(q.message, dict) else None
        if not isinstance(events, list):
            continue
        kept = [e for e in events if not _mentions(e, needles)]
        if len(kept) == len(events):
            continue
        removed += len(events) - len(kept)
        conn.execute(sql.SQL(queries.get("erasure_queue_delete")).format(table=table), {"msg_id": q.msg_id})
        if kept:
            queues.send(conn, queue, intake.IngestMessage.model_validate({**q.message, "events": kept}))
    return removed


def erase_client(
    conn: Connection[Any],
    organization_id: UUID,
    client_id: str,
    *,
    identifiers: list[str] | None = None,
    now: datetime | None = None,
) -> ErasureReport:
    """Erase one client of one organization in the caller's transaction (see the module docstring)."""
    requested_at = now or datetime.now(UTC)
    key = monitor_settings.get().pii_hash_key.get_secret_value().encode()
    args = {"organization_id": organization_id, "client_id": client_id}
    pseudonyms = {privacy.pseudonym(i, key) for i in identifiers or []}
    pseudonyms |= set(db.fetch_scalars(conn, "erasure_client_pseudonyms", args))
    queued = _scrub_queue(conn, organization_id, pseudonyms | {client_id})
    # Pseudonyms again: a validate batch that committed while we waited for the queue lock may have stored more.
    pseudonyms |= set(db.fetch_scalars(conn, "erasure_client_pseudonyms", args))
    deleted = db.fetch_all(conn, "erasure_delete_events", {**args, "pseudonyms": sorted(pseudonyms)}, _DeletedEvent)
    event_ids = [d.event_id for d in deleted]
    keys = conn.execute(
        queries.get("erasure_delete_keys"), {"organization_id": organization_id, "event_ids": event_ids}
    ).rowcount
    letters = conn.execute(
        queries.get("erasure_delete_dead_letters"), {**args, "pseudonyms": sorted(pseudonyms)}
    ).fetchall()
    windows = corrections.daily_windows([d.occurred_at for d in deleted])
    corrections.request_rebuild(conn, organization_id, windows, "erasure")
    corrections.forget_clients(conn, organization_id, [client_id, *sorted(pseudonyms)])
    counts = {
        "events": len(deleted),
        "event_keys": keys,
        "dead_letters": len(letters),
        "queued_events": queued,
        "identifiers": len(pseudonyms),
    }
    digest = subject_hash(organization_id, client_id)
    audit_id = db.fetch_scalar(
        conn,
        "erasure_audit",
        {
            "organization_id": organization_id,
            "subject_hash": digest,
            "counts": json.dumps(counts),
            "rollup_windows": len(windows),
            "requested_at": requested_at,
        },
    )
    assert audit_id is not None
    return ErasureReport(
        audit_id=int(audit_id), subject_hash=digest, counts=counts, rollup_windows=len(windows), rollups_corrected=True
    )
