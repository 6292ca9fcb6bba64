"""What became of the events a client sent: accepted, duplicate, rejected (with the reasons), or failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rejection:
    """An event ingest refused: its `event_id`, the event as sent, and every reason (`loc`, `msg`, `type`)."""

    event_id: str | None
    event: dict[str, Any]
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class Failure:
    """Events that were not delivered: a 4xx that is never retried, or retries given up. `status` is None when
    no answer came at all."""

    status: int | None
    error: str
    message: str
    events: list[dict[str, Any]]


@dataclass
class Report:
    """Totals of one request, one flush, or everything a sender did so far."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    retries: int = 0

    def add(self, other: Report) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.failed += other.failed
        self.retries += other.retries

    @property
    def settled(self) -> int:
        """Events ingest answered for: accepted, duplicates and rejected."""
        return self.accepted + self.duplicates + len(self.rejected)


def from_answer(events: list[dict[str, Any]], body: dict[str, Any], retries: int) -> Report:
    """The report of a 202: the `rejected` list mapped back to the events as sent (by `index`)."""
    rejected = [
        Rejection(item.get("event_id"), events[item["index"]], list(item.get("errors", [])))
        for item in body.get("rejected", [])
    ]
    return Report(int(body.get("accepted", 0)), int(body.get("duplicates", 0)), rejected, [], retries)
