"""Dead-letter listing and replay: after a mapping or schema fix, send chosen dead letters through validate again.

A replay runs in the caller's ONE transaction: it locks the chosen letters (skipping any another replay
holds), queues their payloads as `IngestMessage`s on the ingest queue and marks them `replayed`. The validate
stage then stores what now passes — exactly once, since the event keys refuse a second copy — and hands it
to aggregation; what still fails is dead-lettered again with its NEW reasons on the same row (same payload,
so same fingerprint): `attempts + 1`, `replay_state = 'failed'` (see `record_dead_letters`).

States: pending (never replayed) -> replayed -> (passes: stays replayed) | (fails again: failed) -> replayed ...
Letters rejected at ingest move to stage `validate` when replayed, because that is where their next
rejection would be recorded.

An aggregate-stage letter holds a `StoredEvents` message whose events are stored but were never counted (its
every attempt rolled back). Replaying it puts that message back on the aggregate queue, verbatim. It counts
once: while the letter is pending or failed, rebuild and reconcile treat its ids as pending, like the queue's
(`analytics_pending_event_ids_v1`), so no rebuild counted them; the row lock and the state change to
`replayed` let one replay send it once; and aggregate applies and deletes the message in one transaction.
A letter that cannot be read as `StoredEvents` (no event ids) is skipped.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from psycopg import Connection
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core import contracts, db, queues, settings
from shared.ingest import intake

ReplayState = Literal["pending", "replayed", "failed", "discarded"]
Stage = Literal["ingest", "validate", "aggregate"]
REPLAYABLE: list[ReplayState] = ["pending", "failed"]


class LetterFilter(BaseModel):
    """Which dead letters: every field is optional and they combine with AND."""

    model_config = ConfigDict(extra="forbid")

    organization_id: UUID | None = None
    ids: list[int] | None = Field(default=None, max_length=10_000)
    source: str | None = None
    stage: Stage | None = None
    reason: str | None = Field(default=None, description="A reason type, such as extra_forbidden or retry_limit")
    states: list[ReplayState] | None = None
    since: datetime | None = Field(default=None, description="Last seen at or after")
    until: datetime | None = Field(default=None, description="Last seen before")
    limit: int = Field(default=100, ge=1, le=10_000)

    def params(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id,
            "ids": self.ids,
            "source": self.source,
            "stage": self.stage,
            "reason": self.reason,
            "states": self.states,
            "since": self.since,
            "until": self.until,
            "limit": self.limit,
        }


class DeadLetterView(BaseModel):
    id: int
    organization_id: UUID
    source: str
    stage: Stage
    event_id: str | None
    event_type: str | None
    payload: Any
    reasons: list[dict[str, Any]]
    first_seen_at: datetime
    last_seen_at: datetime
    attempts: int
    replay_state: ReplayState
    replayed_at: datetime | None


@dataclass(frozen=True)
class _Locked:
    """A dead letter locked for this replay."""

    id: int
    organization_id: UUID
    source: str
    stage: str
    payload: Any
    fingerprint: bytes


class ReplayResult(BaseModel):
    replayed: int = Field(description="Dead letters queued again and marked replayed")
    messages: int = Field(description="Queue messages sent (ingest queue; aggregate queue for aggregate letters)")
    ids: list[int] = Field(description="The ids of the replayed dead letters")
    skipped: int = Field(
        description="Matched but not replayable now (locked by another replay, not an event object, or an aggregate "
        "letter without event ids)"
    )


def list_letters(conn: Connection[Any], where: LetterFilter) -> list[DeadLetterView]:
    """Dead letters matching the filter, newest first."""
    return db.fetch_all(conn, "dead_letters_filtered", where.params(), DeadLetterView)


def replay(conn: Connection[Any], where: LetterFilter, *, now: datetime | None = None) -> ReplayResult:
    """Queue the matching replayable letters for validation again, in the caller's transaction.

    Letters with the same organization, source and payload (fingerprint) are sent once. Without explicit
    states only `pending` and `failed` letters are chosen; `replayed` and `discarded` ones are never resent.
    """
    cfg = settings.get_settings()
    now = now or datetime.now(UTC)
    chosen = where.model_copy(update={"states": [s for s in (where.states or REPLAYABLE) if s in REPLAYABLE]})
    candidates = [letter.id for letter in list_letters(conn, chosen)]
    if not candidates:
        return ReplayResult(replayed=0, messages=0, ids=[], skipped=0)
    locked = db.fetch_all(conn, "dead_letters_for_replay", {"ids": candidates}, _Locked)
    groups: dict[tuple[UUID, str], dict[bytes, dict[str, Any]]] = defaultdict(dict)
    replayed: list[int] = []
    counts: list[BaseModel | dict[str, Any]] = []
    for letter in locked:
        if letter.stage == "aggregate":
            try:
                contracts.StoredEvents.model_validate(letter.payload)
            except ValidationError:
                continue  # a broken queue message: no event ids to count
            counts.append(letter.payload)  # verbatim: failing again, it lands on this letter's row (same fingerprint)
            replayed.append(letter.id)
            continue
        if not isinstance(letter.payload, dict):
            continue  # a whole broken queue message, not an event: nothing validate could store
        groups[(letter.organization_id, letter.source)].setdefault(bytes(letter.fingerprint), letter.payload)
        replayed.append(letter.id)
    messages: list[BaseModel] = []
    for (org, source), payloads in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        events = list(payloads.values())
        for start in range(0, len(events), cfg.max_batch_events):
            messages.append(
                intake.IngestMessage(
                    organization_id=org,
                    source=source,
                    received_at=now,
                    events=events[start : start + cfg.max_batch_events],
                )
            )
    queues.send_batch(conn, cfg.ingest_queue, messages)
    queues.send_batch(conn, cfg.aggregate_queue, counts)
    marked = [int(i) for i in db.fetch_scalars(conn, "dead_letters_mark_replayed", {"ids": replayed})]
    return ReplayResult(
        replayed=len(marked),
        messages=len(messages) + len(counts),
        ids=sorted(marked),
        skipped=len(candidates) - len(marked),
    )
