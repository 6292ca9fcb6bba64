"""The validate stage: turn queued batches into stored events, exactly once.

One transaction reads a batch of queue messages, normalises every event (the organization's zone and
currency, pseudonymised personal data), stores the new ones, dead-letters the bad ones with every reason,
hands what was stored to the aggregate queue and deletes the messages. A crash anywhere rolls all of it back,
including the read, so the batch is simply processed again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import ValidationError

from shared.catalog import events, privacy
from shared.core import contracts, db, deadletters, errors, queues, settings, stats
from shared.ingest import intake, webhooks
from shared.validate import eventstore


@dataclass(frozen=True)
class Organization:
    id: UUID
    timezone: ZoneInfo
    currency: str


@dataclass
class BatchOutcome:
    """What one batch did; `messages` is 0 when the queue was empty."""

    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    dead_messages: int = 0
    deferred: int = 0  # left on the queue after a transient error, for a later read

    def add(self, other: BatchOutcome) -> None:
        for name in ("messages", "stored", "duplicates", "rejected", "dead_messages", "deferred"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Work:
    rows: list[dict[str, Any]] = field(default_factory=list)
    letters: list[deadletters.DeadLetter] = field(default_factory=list)
    tally: stats.Tally = field(default_factory=stats.Tally)
    dead_messages: int = 0


_partitions_checked: date | None = None


def _load_organizations(conn: Connection[Any], ids: set[UUID]) -> dict[UUID, Organization]:
    if not ids:
        return {}
    rows = db.fetch_all(conn, "organizations_by_id", {"ids": [str(i) for i in ids]}, dict_row)
    return {r["id"]: Organization(r["id"], ZoneInfo(r["timezone"]), r["currency"]) for r in rows}


def _organization_of(raw: Any) -> UUID:
    try:
        return UUID(str(raw.get("organization_id")))
    except (AttributeError, ValueError):
        return deadletters.UNKNOWN_ORGANIZATION


def _dead_message(
    work: _Work, msg: queues.QueueMessage, kind: str, text: str, loc: list[str | int] | None = None
) -> None:
    """Dead-letter a whole message; a batch of events becomes one dead letter per event, for replay. The reason's
    location is the queue message unless the fault lies in one of its fields."""
    reason = deadletters.Reason(loc=loc or ["queue", "ingest", msg.msg_id], type=kind, msg=text)
    raw = msg.message if isinstance(msg.message, dict) else {"message": msg.message}
    org = _organization_of(raw)
    source = str(raw.get("source") or "unknown")
    items = raw.get("events") if isinstance(raw.get("events"), list) else None
    payloads: list[Any] = items if items else [raw]
    key = settings.get_settings().pii_hash_key.get_secret_value().encode()
    for payload in payloads:
        work.letters.append(
            deadletters.DeadLetter(
                org,
                source,
                "validate",
                privacy.scrub(payload, key),
                [reason],
                intake._event_id(payload),
                intake._event_type(payload),
            )
        )
    work.tally.add(org, source, datetime.now(UTC), "received", len(payloads))
    work.tally.add(org, source, datetime.now(UTC), "rejected", len(payloads))
    work.dead_messages += 1


def _process_events(work: _Work, msg: intake.IngestMessage, org: Organization) -> None:
    cfg = settings.get_settings()
    key = cfg.pii_hash_key.get_secret_value().encode()
    checked = (
        events.Checked(list(enumerate(msg.events)), [])
        if msg.checked
        else events.check_batch(
            msg.events, tz=org.timezone, now=msg.received_at, max_future_skew=cfg.max_future_skew, pii_key=key
        )
    )
    for index, exc in checked.rejected:
        raw = msg.events[index]
        reasons = deadletters.reasons_from(exc, strip_tag=intake._event_type(raw))
        work.letters.append(
            deadletters.DeadLetter(
                org.id,
                msg.source,
                "validate",
                privacy.scrub(raw, key),
                reasons,
                intake._event_id(raw),
                intake._event_type(raw),
            )
        )
        work.tally.add(org.id, msg.source, msg.received_at, "rejected")
    received_at = msg.received_at.isoformat()
    work.rows.extend(
        eventstore.row(event, org.id, org.currency, msg.source, received_at) for _, event in checked.accepted
    )


def _process_webhook(
    work: _Work, msg: queues.QueueMessage, message: webhooks.WebhookMessage, org: Organization
) -> None:
    """A provider delivery: parsed here (not at ingest), then its events take the first-party path."""
    source = message.source.label
    try:
        mapped = webhooks.expand(message)
    except Exception as exc:  # a parser failure dead-letters this delivery, not the batch
        _dead_message(work, msg, "parse_failed", f"the delivery could not be read: {exc}"[:500], loc=[message.provider])
        return
    key = settings.get_settings().pii_hash_key.get_secret_value().encode()
    work.tally.add(org.id, source, message.received_at, "received", mapped.items)
    work.tally.add(org.id, source, message.received_at, "ignored", mapped.ignored)
    for bad in mapped.rejected:
        work.letters.append(
            deadletters.DeadLetter(
                org.id, source, "validate", privacy.scrub(bad.payload, key), bad.reasons, bad.event_id, bad.event_type
            )
        )
        work.tally.add(org.id, source, message.received_at, "rejected")
    if mapped.events:
        _process_events(
            work,
            intake.IngestMessage(
                organization_id=org.id, source=source, received_at=message.received_at, events=mapped.events
            ),
            org,
        )


def _parse_message(msg: queues.QueueMessage) -> intake.IngestMessage | webhooks.WebhookMessage:
    """Dispatch on the message `kind`: first-party `events` (the default) or a provider `webhook`."""
    kind = msg.message.get("kind", "events") if isinstance(msg.message, dict) else "events"
    if kind == "webhook":
        return webhooks.WebhookMessage.model_validate(msg.message)
    return intake.IngestMessage.model_validate(msg.message)


def _process(conn: Connection[Any], batch: list[queues.QueueMessage]) -> _Work:
    cfg = settings.get_settings()
    work = _Work()
    parsed: list[tuple[queues.QueueMessage, intake.IngestMessage | webhooks.WebhookMessage]] = []
    for msg in batch:
        if msg.read_ct > cfg.queue_max_reads:
            _dead_message(
                work,
                msg,
                "retry_limit",
                f"read {msg.read_ct} times without being processed (limit {cfg.queue_max_reads})",
            )
            continue
        try:
            parsed.append((msg, _parse_message(msg)))
        except ValidationError as exc:
            _dead_message(
                work,
                msg,
                "bad_message",
                "not a valid ingest message: " + "; ".join(r.msg for r in deadletters.reasons_from(exc)),
            )
    orgs = _load_organizations(conn, {m.organization_id for _, m in parsed})
    for msg, message in parsed:
        org = orgs.get(message.organization_id)
        if org is None:
            _dead_message(
                work,
                msg,
                "unknown_organization",
                f"organization {message.organization_id} does not exist",
                loc=["organization_id"],
            )
            continue
        if isinstance(message, webhooks.WebhookMessage):
            _process_webhook(work, msg, message, org)
        else:
            # First-party events are counted as received here; ingest counted only what it stopped itself.
            work.tally.add(org.id, message.source, message.received_at, "received", len(message.events))
            _process_events(work, message, org)
    return work


def _first_occurrences(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without repeats of an (organization, event id) already earlier in this batch."""
    seen: set[tuple[str, str]] = set()
    unique: list[dict[str, Any]] = []
    for row in rows:
        key = (row["organization_id"], row["event_id"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


def _store(conn: Connection[Any], work: _Work) -> tuple[int, int]:
    """Insert the batch's rows; returns (stored, duplicates) and queues the stored ids for aggregation."""
    cfg = settings.get_settings()
    unique = _first_occurrences(work.rows)
    groups = eventstore.store(conn, unique)
    stored_keys: dict[tuple[str, str], int] = defaultdict(int)
    by_org: dict[UUID, list[eventstore.StoredGroup]] = defaultdict(list)
    for group in groups:
        by_org[group.organization_id].append(group)
        stored_keys[(str(group.organization_id), group.source)] += len(group.ids)
    attempted: dict[tuple[str, str], int] = defaultdict(int)
    received_at: dict[tuple[str, str], str] = {}
    for row in work.rows:
        attempted[(row["organization_id"], row["source"])] += 1
        received_at[(row["organization_id"], row["source"])] = row["received_at"]
    for (org_s, source), n in attempted.items():
        at = datetime.fromisoformat(received_at[(org_s, source)])
        work.tally.add(UUID(org_s), source, at, "stored", stored_keys[(org_s, source)])
        work.tally.add(UUID(org_s), source, at, "duplicates", n - stored_keys[(org_s, source)])
    queues.send_batch(
        conn,
        cfg.aggregate_queue,
        [
            contracts.StoredEvents(
                organization_id=org,
                ids=[pk for g in found for pk in g.ids],
                occurred_from=min(g.occurred_from for g in found),
                occurred_to=max(g.occurred_to for g in found),
            )
            for org, found in sorted(by_org.items())
        ],
    )
    stored = sum(len(g.ids) for g in groups)
    return stored, len(work.rows) - stored


def _finish(conn: Connection[Any], batch: list[queues.QueueMessage], work: _Work) -> BatchOutcome:
    stored, duplicates = _store(conn, work)
    deadletters.record(conn, work.letters)
    work.tally.write(conn)
    queues.delete(conn, settings.get_settings().ingest_queue, [m.msg_id for m in batch])
    return BatchOutcome(
        messages=len(batch),
        stored=stored,
        duplicates=duplicates,
        rejected=len(work.letters),
        dead_messages=work.dead_messages,
    )


def _events_in(msg: queues.QueueMessage) -> int:
    """How many events a queue message carries (a batch of events, or one webhook delivery or oddity)."""
    found = msg.message.get("events") if isinstance(msg.message, dict) else None
    return len(found) if isinstance(found, list) else 1


def run_batch(transaction: Callable[[], AbstractContextManager[Connection[Any]]]) -> BatchOutcome:
    """Process one batch from the ingest queue in one transaction; an empty queue gives `messages == 0`. When
    the queue is deep the batch grows up to QUEUE_DEEP_READ_EVENTS events (`queues.read_deep`).

    A transient error (connection lost, timeout, deadlock, a deploy half done) propagates: the transaction,
    read included, rolls back, so the batch is read again later and its read count is not raised. If the database
    refuses the batch as a whole (a terminal error), the batch is read again and each message is processed in its
    own savepoint, so one bad message is dead-lettered and cannot hold up the others.
    """
    cfg = settings.get_settings()
    try:
        with transaction() as conn:
            batch = queues.read_deep(
                conn,
                cfg.ingest_queue,
                visibility_timeout=cfg.queue_visibility_timeout_seconds,
                quantity=cfg.queue_batch_size,
                max_events=cfg.queue_deep_read_events,
                events_in=_events_in,
            )
            if not batch:
                return BatchOutcome()
            return _finish(conn, batch, _process(conn, batch))
    except errors.DatabaseRejected:
        return _run_isolated(transaction)


def _run_isolated(transaction: Callable[[], AbstractContextManager[Connection[Any]]]) -> BatchOutcome:
    """One savepoint per message: a message refused for its content is dead-lettered; one that meets a transient
    error is left on the queue (not deleted, not dead-lettered) and comes back after the visibility timeout.
    A lost connection ends the whole transaction, read included."""
    cfg = settings.get_settings()
    outcome = BatchOutcome()
    with transaction() as conn:
        batch = queues.read(
            conn,
            cfg.ingest_queue,
            visibility_timeout=cfg.queue_visibility_timeout_seconds,
            quantity=cfg.queue_batch_size,
        )
        for msg in batch:
            try:
                with conn.transaction():
                    outcome.add(_finish(conn, [msg], _process(conn, [msg])))
            except Exception as exc:
                if conn.broken or conn.closed:
                    raise
                if errors.is_transient(exc):
                    outcome.add(BatchOutcome(messages=1, deferred=1))
                    continue
                work = _Work()
                _dead_message(work, msg, "store_failed", f"the database refused this message: {str(exc).strip()[:500]}")
                outcome.add(_finish(conn, [msg], work))
    return outcome


def drain(
    transaction: Callable[[], AbstractContextManager[Connection[Any]]],
    *,
    budget: timedelta = timedelta(seconds=20),
) -> tuple[BatchOutcome, bool]:
    """Run batches until the queue is empty or the time budget is spent; returns (totals, more_waiting). While
    messages arrive one by one, each read waits QUEUE_GATHER_MS after a read that did not come back full, so they
    share transactions (`queues.drain_batches`)."""
    global _partitions_checked
    today = datetime.now(UTC).date()
    if _partitions_checked != today:
        with transaction() as conn:
            ensure_partitions(conn, today)
        _partitions_checked = today
    cfg = settings.get_settings()
    return queues.drain_batches(
        lambda: run_batch(transaction),
        budget,
        gather=timedelta(milliseconds=cfg.queue_gather_ms),
        full=lambda outcome: outcome.messages >= cfg.queue_batch_size,
    )


def ensure_partitions(conn: Connection[Any], today: date | None = None, months_ahead: int = 12) -> int:
    """Keep monthly event partitions a year ahead (the default partition catches anything beyond)."""
    start = (today or datetime.now(UTC).date()).replace(day=1)
    created = db.fetch_scalar(conn, "ensure_event_partitions", {"from": start, "months": months_ahead + 1})
    return int(created) if created is not None else 0
