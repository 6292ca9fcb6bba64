"""The ingest stage: check first-party events against the catalog and queue the good ones durably.

A 202 from ingest means every accepted event is in the `ingest` queue (committed) and every rejected one is in
the dead letters with its reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from psycopg import Connection, rows
from pydantic import BaseModel, Field

from shared.catalog import events, privacy
from shared.core import apikeys, db, deadletters, queries, queues, stats
from shared.ingest import document
from shared.ingest import settings as ingest_settings

FIRST_PARTY_SOURCE = "api"
# A dead letter of an event jsonb could not hold as sent (NaN, NUL, duplicate keys, ...) keeps its JSON text,
# escaped to ASCII, under this one key.
UNSAFE_PAYLOAD_KEY = "unsafe_json"


class IngestMessage(BaseModel):
    """One queue message from ingest to validate: a batch of catalog-checked events of one organization."""

    kind: Literal["events"] = "events"
    organization_id: UUID
    source: str
    received_at: datetime
    checked: bool = Field(
        default=False,
        description="Set by ingest only: every event was checked against the catalog (and pseudonymised) in the "
        "transaction that queued it, so validate does not check it twice. Anything else (a dead-letter replay, a "
        "webhook's mapped events) is checked in validate.",
    )
    events: list[dict[str, Any]]


class Rejection(BaseModel):
    index: int = Field(description="Position of the event in the request (0 for a single event)")
    event_id: str | None
    errors: list[deadletters.Reason]


class IngestResult(BaseModel):
    """The body of the 202 answer."""

    accepted: int = Field(description="Events queued for storage")
    duplicates: int = Field(description="Events already stored, or repeated within this request")
    rejected: list[Rejection]


def _event_id(raw: Any) -> str | None:
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def _event_type(raw: Any) -> str | None:
    value = raw.get("type") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class _Queued:
    known_ids: list[str]
    msg_id: int | None


def _queue_unless_known(
    one_trip: Callable[[], AbstractContextManager[Connection[Any]]],
    caller: apikeys.Caller,
    source: str,
    now: datetime,
    accepted: list[dict[str, Any]],
    queue: str,
) -> bool:
    """Queue the events in one round trip (BEGIN, the send, COMMIT sent together) unless one of them is already
    stored; True if they were queued (committed). False leaves nothing queued: the caller takes the long path,
    which counts the duplicates and queues the rest."""
    message = IngestMessage(
        organization_id=caller.organization_id, source=source, received_at=now, events=accepted, checked=True
    )
    params = {
        "organization_id": caller.organization_id,
        "event_ids": [e["event_id"] for e in accepted],
        "queue": queue,
        "message": message.model_dump_json(),
    }
    with one_trip() as conn:
        cursor = conn.cursor(row_factory=rows.class_row(_Queued))
        cursor.execute(queries.get("queue_unless_known"), params)
    queued = cursor.fetchone()  # after the block: the pipeline delivered every result with the COMMIT's
    assert queued is not None
    return not queued.known_ids


def accept(
    transaction: Callable[[], AbstractContextManager[Connection[Any]]],
    caller: apikeys.Caller,
    raw_events: list[Any],
    *,
    source: str = FIRST_PARTY_SOURCE,
    now: datetime | None = None,
    one_trip: Callable[[], AbstractContextManager[Connection[Any]]] = db.sent_together,
) -> IngestResult:
    """Check each event, queue the good ones and dead-letter the rest, all in one transaction.

    The common request (all good, none repeated) runs that transaction through `one_trip`, whose statements
    and COMMIT are sent together; anything else, or a request with an event already stored, through
    `transaction`.

    `raw_events` may hold `document.Unsafe` items: events already refused while reading the body, which are
    dead-lettered with their reasons like any other rejection.
    """
    cfg = ingest_settings.get()
    now = now or datetime.now(UTC)
    key = cfg.pii_hash_key.get_secret_value().encode()
    accepted: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    letters: list[deadletters.DeadLetter] = []
    seen: set[str] = set()
    duplicates = 0

    judged = list(enumerate(raw_events))
    unsafe = [(i, raw) for i, raw in judged if isinstance(raw, document.Unsafe)]
    clean = [(i, raw) for i, raw in judged if not isinstance(raw, document.Unsafe)]
    for index, bad in unsafe:
        rejected.append(Rejection(index=index, event_id=bad.event_id, errors=bad.reasons))
        letters.append(
            deadletters.DeadLetter(
                caller.organization_id,
                source,
                "ingest",
                {UNSAFE_PAYLOAD_KEY: privacy.scrub(bad.text, key)},
                bad.reasons,
                bad.event_id,
                bad.event_type,
                now,
            )
        )
    checked = events.check_batch(
        [raw for _, raw in clean], tz=caller.timezone, now=now, max_future_skew=cfg.max_future_skew, pii_key=key
    )
    for position, exc in checked.rejected:
        index, raw = clean[position]
        reasons = deadletters.reasons_from(exc, strip_tag=_event_type(raw))
        rejected.append(Rejection(index=index, event_id=_event_id(raw), errors=reasons))
        letters.append(
            deadletters.DeadLetter(
                caller.organization_id,
                source,
                "ingest",
                privacy.scrub(raw, key),
                reasons,
                _event_id(raw),
                _event_type(raw),
                now,
            )
        )
    rejected.sort(key=lambda r: r.index)
    for _, event in checked.accepted:
        if event["event_id"] in seen:
            duplicates += 1
            continue
        seen.add(event["event_id"])
        accepted.append(event)

    if accepted and not letters and not duplicates:
        # The common request (every event good, none repeated): its whole transaction in one round trip.
        queued = _queue_unless_known(one_trip, caller, source, now, accepted, cfg.ingest_queue)
        if queued:
            return IngestResult(accepted=len(accepted), duplicates=0, rejected=[])
    tally = stats.Tally()
    with transaction() as conn:
        if accepted:
            stored = set(
                db.fetch_scalars(
                    conn,
                    "known_event_ids",
                    {
                        "organization_id": caller.organization_id,
                        "event_ids": [e["event_id"] for e in accepted],
                    },
                )
            )
            if stored:
                duplicates += sum(1 for e in accepted if e["event_id"] in stored)
                accepted = [e for e in accepted if e["event_id"] not in stored]
        if accepted:
            queues.send(
                conn,
                cfg.ingest_queue,
                IngestMessage(
                    organization_id=caller.organization_id,
                    source=source,
                    received_at=now,
                    events=accepted,
                    checked=True,
                ),
            )
        deadletters.record(conn, letters)
        # Queued events are counted as received by validate; only what stops here is counted here, so the
        # common all-good request does not touch the (hot) counter row at all.
        tally.add(caller.organization_id, source, now, "received", len(raw_events) - len(accepted))
        tally.add(caller.organization_id, source, now, "rejected", len(rejected))
        tally.add(caller.organization_id, source, now, "duplicates", duplicates)
        tally.write(conn)
    return IngestResult(accepted=len(accepted), duplicates=duplicates, rejected=rejected)
