"""Per-source, per-hour intake counters (received, stored, duplicates, rejected, ignored, refused)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from psycopg import Connection

from shared.core import queries

Counter_ = Literal["received", "stored", "duplicates", "rejected", "ignored", "refused"]
_COUNTERS: tuple[Counter_, ...] = ("received", "stored", "duplicates", "rejected", "ignored", "refused")


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class Tally:
    """Counts gathered while a batch is processed, written once at its end."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[UUID, str, datetime, Counter_]] = Counter()

    def add(self, organization_id: UUID, source: str, at: datetime, counter: Counter_, n: int = 1) -> None:
        if n:
            self._counts[(organization_id, source, hour_of(at), counter)] += n

    def rows(self) -> list[dict[str, Any]]:
        merged: dict[tuple[UUID, str, datetime], dict[str, Any]] = {}
        for (org, source, bucket, counter), n in sorted(self._counts.items(), key=lambda kv: str(kv[0])):
            row = merged.setdefault(
                (org, source, bucket),
                {
                    "organization_id": str(org),
                    "source": source,
                    "bucket": bucket.isoformat(),
                    **dict.fromkeys(_COUNTERS, 0),
                },
            )
            row[counter] += n
        return list(merged.values())

    def write(self, conn: Connection[Any]) -> None:
        rows = self.rows()
        if rows:
            conn.execute(queries.get("bump_source_stats"), {"rows": json.dumps(rows)})
