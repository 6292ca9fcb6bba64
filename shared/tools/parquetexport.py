"""The raw-event export as Parquet (`export events --out x.parquet`): the CLI only, with the optional pyarrow.

Rows come from a server-side cursor in chunks of `CHUNK` and each chunk becomes one row group, so memory stays
flat; the reading runs as the organization under row-level security, as the CSV export does.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import dict_row

from shared.core import queries

CHUNK = 50_000


class ParquetUnavailable(RuntimeError):
    """Parquet needs pyarrow: pip install 'wedsync-analytics[parquet]'."""


def _schema() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise ParquetUnavailable() from None
    ts = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("id", pa.int64()),
            ("event_id", pa.string()),
            ("event_type", pa.string()),
            ("schema_version", pa.int16()),
            ("occurred_at", ts),
            ("received_at", ts),
            ("stored_at", ts),
            ("source", pa.string()),
            ("client_id", pa.string()),
            ("booking_id", pa.string()),
            ("amount_minor", pa.int64()),
            ("currency", pa.string()),
            ("properties", pa.string()),
        ]
    )


def write(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime, out: Path) -> int:
    """Write the events of [start, end) to `out`; returns how many."""
    schema = _schema()
    import pyarrow as pa
    import pyarrow.parquet as pq

    total = 0
    params = {"organization_id": org_id, "start": start, "end": end}
    with (
        pq.ParquetWriter(out, schema, compression="zstd") as writer,
        conn.cursor(name="event_export", row_factory=dict_row) as cur,
    ):
        cur.itersize = CHUNK
        cur.execute(queries.get("export_events_rows"), params)
        while rows := cur.fetchmany(CHUNK):
            columns = {f.name: pa.array([r[f.name] for r in rows], f.type) for f in schema}
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            total += len(rows)
    return total
