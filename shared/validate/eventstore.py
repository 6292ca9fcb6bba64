"""Writing new events to the event store: binary COPY into a per-transaction staging table, then one statement
that claims each event's key (exactly once) and inserts the rows it claimed.

The rows never become JSON on the way: no text to build here and none for PostgreSQL to parse.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from psycopg import Connection
from psycopg.types.json import Jsonb

from shared.core import db, queries

COLUMNS: tuple[tuple[str, str], ...] = (
    ("organization_id", "uuid"),
    ("event_id", "text"),
    ("event_type", "text"),
    ("schema_version", "int2"),
    ("occurred_at", "timestamptz"),
    ("received_at", "timestamptz"),
    ("source", "text"),
    ("client_id", "text"),
    ("booking_id", "text"),
    ("amount_minor", "int8"),
    ("currency", "text"),  # char(3) takes a text value: psycopg has no binary bpchar dumper
    ("properties", "jsonb"),
)


_MONEY_FIELDS = ("amount_minor", "value_minor", "budget_minor")


def row(event: dict[str, Any], organization_id: UUID, currency: str, source: str, received_at: str) -> dict[str, Any]:
    """The stored row of a checked event (a dict as `events.check_batch` dumps it); money without a currency is
    in the organization's `currency`."""
    data: dict[str, Any] = event.get("data", {})
    if "currency" not in data and any(f in data for f in _MONEY_FIELDS):
        data["currency"] = currency
    amount = data.get("amount_minor", data.get("value_minor"))
    return {
        "organization_id": str(organization_id),
        "event_id": event["event_id"],
        "event_type": event["type"],
        "schema_version": event["schema_version"],
        "occurred_at": event["occurred_at"],
        "received_at": received_at,
        "source": source,
        "client_id": event.get("client_id"),
        "booking_id": data.get("booking_id"),
        "amount_minor": amount,
        "currency": data.get("currency") if amount is not None else None,
        "properties": data,
    }


@dataclass(frozen=True)
class StoredGroup:
    """The events `store` inserted (those not stored before) of one organization and source: their ids and the
    span of their occurred_at. Grouped by the database, so a batch of thousands comes back as a few rows."""

    organization_id: UUID
    source: str
    ids: list[int]
    occurred_from: datetime
    occurred_to: datetime


def _values(rows: Sequence[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """Each row (as `validation` builds it: ids and times as text) in `COLUMNS` order, as Python values."""
    organizations: dict[str, UUID] = {}
    received: dict[str, datetime] = {}
    for row in rows:
        org = organizations.get(row["organization_id"]) or organizations.setdefault(
            row["organization_id"], UUID(row["organization_id"])
        )
        at = received.get(row["received_at"]) or received.setdefault(
            row["received_at"], datetime.fromisoformat(row["received_at"])
        )
        yield (
            org,
            row["event_id"],
            row["event_type"],
            row["schema_version"],
            datetime.fromisoformat(row["occurred_at"]),
            at,
            row["source"],
            row["client_id"],
            row["booking_id"],
            row["amount_minor"],
            row["currency"],
            Jsonb(row["properties"], dumps=orjson.dumps),
        )


def store(conn: Connection[Any], rows: Sequence[dict[str, Any]]) -> list[StoredGroup]:
    """Store the rows whose (organization, event id) is new, in the caller's transaction; returns those, grouped
    by organization and source.

    Rows must not repeat an (organization, event id) among themselves."""
    if not rows:
        return []
    conn.execute(queries.get("incoming_events_create"))
    db.copy_rows(conn, "incoming_events_copy", [t for _, t in COLUMNS], _values(rows))
    return db.fetch_all(conn, "incoming_events_store", None, StoredGroup)
