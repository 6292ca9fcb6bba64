"""Dead letters: every rejected payload kept with every reason, never silently dropped."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from psycopg import Connection
from pydantic import BaseModel, ValidationError

from shared.core import queries

Stage = Literal["ingest", "validate", "aggregate"]
# Organization of last resort, for a queue message so broken that its organization cannot be read.
UNKNOWN_ORGANIZATION = UUID(int=0)


class Reason(BaseModel):
    """One thing wrong with a payload: where, what, and the machine-readable kind."""

    loc: list[str | int]
    msg: str
    type: str


def reasons_from(exc: ValidationError, *, strip_tag: str | None = None) -> list[Reason]:
    """Readable reasons from a pydantic error: the discriminator tag is dropped from each location."""
    found: list[Reason] = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = list(err["loc"])
        if strip_tag is not None and loc and loc[0] == strip_tag:
            loc = loc[1:]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "union_tag_not_found":
            loc, msg = ["type"], "is required: the event type, one of the catalog's types"
        elif err["type"] == "union_tag_invalid":
            loc = ["type"]
        found.append(Reason(loc=loc, msg=msg, type=err["type"]))
    return found


@dataclass
class DeadLetter:
    organization_id: UUID
    source: str
    stage: Stage
    payload: Any
    reasons: list[Reason]
    event_id: str | None = None
    event_type: str | None = None
    seen_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def row(self) -> dict[str, Any]:
        canonical = json.dumps(self.payload, sort_keys=True, separators=(",", ":"), default=str)
        return {
            "organization_id": str(self.organization_id),
            "source": self.source,
            "stage": self.stage,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "payload": self.payload,
            "reasons": [r.model_dump() for r in self.reasons],
            "fingerprint": hashlib.sha256(canonical.encode()).hexdigest(),
        }


def record(conn: Connection[Any], letters: list[DeadLetter]) -> None:
    """Store dead letters in the caller's transaction (one statement, whatever their number)."""
    if not letters:
        return
    rows = json.dumps([letter.row() for letter in letters], default=str)
    conn.execute(queries.get("record_dead_letters"), {"rows": rows})
