"""Building events: an `event_id` and `occurred_at` given once, when the event is made, never at sending."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any


def event(
    type: str,
    data: dict[str, Any],
    *,
    client_id: str | None = None,
    event_id: str | None = None,
    occurred_at: datetime | str | None = None,
) -> dict[str, Any]:
    """One catalog event (`schemas/events.schema.json`): a fresh UUID for `event_id` and now (UTC) for
    `occurred_at` unless given. A datetime must carry its offset; a string is sent as is."""
    when = occurred_at or datetime.now(UTC)
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("occurred_at needs a time zone (or pass an RFC 3339 string to use the organization's)")
        when = when.isoformat(timespec="seconds" if when.microsecond == 0 else "microseconds")
    built: dict[str, Any] = {"event_id": event_id or str(uuid.uuid4()), "type": type, "occurred_at": when, "data": data}
    if client_id is not None:
        built["client_id"] = client_id
    return built


def identified(item: dict[str, Any]) -> dict[str, Any]:
    """The event with an `event_id`: kept if it has one, a fresh UUID otherwise (a copy; the caller's dict is not
    changed). The id is then fixed for every retry."""
    if isinstance(item.get("event_id"), str) and item["event_id"]:
        return item
    return {**item, "event_id": str(uuid.uuid4())}


def encode(item: dict[str, Any]) -> bytes:
    """The event's JSON as it goes into a batch body. Refuses NaN and infinities here, where the caller sees it."""
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def body(encoded: list[bytes]) -> bytes:
    """A batch envelope from events already encoded."""
    return b'{"events":[' + b",".join(encoded) + b"]}"


ENVELOPE_BYTES = len(body([]))
