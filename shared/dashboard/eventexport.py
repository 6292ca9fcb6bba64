"""The raw-event export: an organization's stored events as gzipped CSV (or Parquet from the CLI), streamed.

It runs in one transaction as the viewer (`serving.as_viewer`), so row-level security limits it to the
caller's organization like every other read. PostgreSQL writes the CSV (COPY of a query, RFC 4180, a header
row) and hands it over in pieces as it scans; each piece is compressed and passed on at once, so memory stays
flat whatever the number of events. Columns: `COLUMNS`; instants in UTC, `properties` as JSON.

API: csv_gz(conn, org_id, start, end) -> Iterator[bytes]; window(q, tz) -> (start, end); ExportQuery.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection
from pydantic import Field

from shared.core import http as web
from shared.core import queries
from shared.dashboard import auth, questions, serving
from shared.metrics import timeframes

COLUMNS = [
    "id",
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "received_at",
    "stored_at",
    "source",
    "client_id",
    "booking_id",
    "amount_minor",
    "currency",
    "properties",
]
MEDIA_TYPE = "application/gzip"
_FLUSH_BYTES = 256 * 1024  # compress in pieces of about this much CSV


class ExportQuery(questions.Window):
    """A period as everywhere in the API, except that without `from`/`to` the export covers every event."""

    format: Literal["csv.gz"] = Field("csv.gz", description="csv.gz: gzipped CSV (Parquet: the CLI only)")


def window(q: questions.Window, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC: local dates are whole local days (`to` inclusive), instants are taken as they are;
    a missing end is open (the first or the last day the API answers for)."""

    def instant(value: date | datetime, edge: int) -> datetime:
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
        return timeframes.local_window(tz.key, value, value)[edge]

    start = instant(q.from_ or questions.FIRST_DAY, 0)
    end = instant(q.to or questions.LAST_DAY, 1)
    if end <= start:
        raise questions.BadInput([web.FieldError(loc=["from"], type="window", msg="from must be before to")])
    return start, end


def csv_gz(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime) -> Iterator[bytes]:
    """The events of [start, end) as one gzip member of CSV, in pieces as PostgreSQL sends them."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: a gzip header and trailer
    params = {"organization_id": org_id, "start": start, "end": end}
    pending: list[bytes] = []
    size = 0
    with conn.cursor() as cur, cur.copy(queries.get("export_events_csv"), params) as copy:
        for piece in copy:
            pending.append(bytes(piece))
            size += len(piece)
            if size >= _FLUSH_BYTES:
                out = packer.compress(b"".join(pending))
                pending, size = [], 0
                if out:
                    yield out
    yield packer.compress(b"".join(pending)) + packer.flush()


def stream(viewer: auth.Viewer, start: datetime, end: datetime) -> Iterator[bytes]:
    """`csv_gz` in its own transaction as the viewer, held open while the response is sent."""
    with serving.as_viewer(viewer) as conn:
        yield from csv_gz(conn, viewer.organization_id, start, end)


def filename(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    first = max(start, datetime(2000, 1, 1, tzinfo=UTC)).astimezone(tz).date()
    last = end.astimezone(tz).date()
    return f"events-{first.isoformat()}-{last.isoformat()}.csv.gz"
