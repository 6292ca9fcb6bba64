"""The queue of a sender: bounded, cut into batches by count and bytes, due by age. No locking here; the
sync and async senders each guard it their own way."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from wedsync_client import events as build

MAX_BATCH_EVENTS = 1000  # ingest's limit per request
MAX_BODY_BYTES = 1024 * 1024  # ingest's limit per body


@dataclass(frozen=True)
class Limits:
    """When a batch is sent: `max_events` queued, `max_bytes` of body, or the oldest event `max_age` seconds
    old. At most `max_queue` events wait; more are dropped and counted."""

    max_events: int = 500
    max_bytes: int = MAX_BODY_BYTES - 16 * 1024
    max_age: float = 1.0
    max_queue: int = 10_000

    def __post_init__(self) -> None:
        if not 1 <= self.max_events <= MAX_BATCH_EVENTS:
            raise ValueError(f"max_events must be 1 to {MAX_BATCH_EVENTS}")
        if not build.ENVELOPE_BYTES < self.max_bytes <= MAX_BODY_BYTES:
            raise ValueError(f"max_bytes must be at most {MAX_BODY_BYTES}")


class TooLarge(ValueError):
    """The event alone is larger than a batch may be."""


class Buffer:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._items: deque[tuple[dict[str, Any], bytes, float]] = deque()
        self.bytes = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: dict[str, Any]) -> str | None:
        """Queue the event (its `event_id` fixed now); None, and counted in `dropped`, when the queue is full."""
        item = build.identified(item)
        encoded = build.encode(item)
        if len(encoded) + build.ENVELOPE_BYTES > self.limits.max_bytes:
            raise TooLarge(f"event {item['event_id']} is {len(encoded)} bytes; a batch holds {self.limits.max_bytes}")
        if len(self._items) >= self.limits.max_queue:
            self.dropped += 1
            return None
        self._items.append((item, encoded, time.monotonic()))
        self.bytes += len(encoded) + 1
        return str(item["event_id"])

    def due_in(self, urgent: bool) -> float | None:
        """0 when a batch should go now, the seconds until the oldest event is due, None when empty."""
        if not self._items:
            return None
        full = len(self._items) >= self.limits.max_events or self.bytes + build.ENVELOPE_BYTES >= self.limits.max_bytes
        if urgent or full:
            return 0.0
        return max(0.0, self._items[0][2] + self.limits.max_age - time.monotonic())

    def take(self) -> list[dict[str, Any]]:
        """The next batch, oldest first, within both limits."""
        batch: list[dict[str, Any]] = []
        size = build.ENVELOPE_BYTES
        while self._items and len(batch) < self.limits.max_events:
            item, encoded, _ = self._items[0]
            if batch and size + len(encoded) + 1 > self.limits.max_bytes:
                break
            self._items.popleft()
            self.bytes -= len(encoded) + 1
            size += len(encoded) + 1
            batch.append(item)
        return batch
