"""The dashboard's data-quality answer: what each source sent and what became of it, why events were rejected,
what waits (dead letters, queues) and how fresh the numbers are. Read as the viewer (RLS), except queue depths.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from shared.core import db
from shared.dashboard import answers, questions, serving
from shared.metrics import funnels, registry
from shared.monitor import measurements
from shared.monitor import quality as quality_checks

_BUCKET = timedelta(minutes=15)


class SourcePoint(BaseModel):
    start: datetime = Field(description="Start of the period (UTC hour, or local day)")
    source: str
    received: int
    stored: int = Field(description="Accepted and stored")
    duplicates: int
    rejected: int = Field(description="Kept as dead letters with their reasons")
    ignored: int
    refused: int


class RejectionReason(BaseModel):
    stage: str
    kind: str = Field(description="Machine-readable kind of the reason, e.g. missing or enum")
    field: str = Field(description="Dotted path of the field the reason is about ('' for the whole event)")
    example: str = Field(description="One message of this kind, for a person")
    occurrences: int = Field(description="Times seen, repeats of the same payload included")
    payloads: int = Field(description="Distinct rejected payloads")


class QueueState(BaseModel):
    queue: str
    length: int
    oldest_age_seconds: int | None


class Freshness(BaseModel):
    newest_event_at: datetime | None = Field(description="Newest occurred_at among stored events")
    newest_aggregated_at: datetime | None = Field(description="End of the newest 15-minute rollup bucket")
    age_seconds: float | None = Field(description="Now minus newest_aggregated_at (0 when it is in the future)")
    views: list[funnels.ViewFreshness] = Field(description="Last refresh of each materialized view")


class Quality(BaseModel):
    start: datetime
    end: datetime
    interval: str
    sources: list[SourcePoint]
    totals: list[SourcePoint] = Field(description="Per source over the whole period (start = period start)")
    rejection_reasons: list[RejectionReason] = Field(description="Top 10 among dead letters seen in the period")
    dead_letters_waiting: int
    oldest_dead_letter_at: datetime | None
    queues: list[QueueState] = Field(description="Pipeline-wide: every organization's messages")
    freshness: Freshness
    checks: list[measurements.CheckResult] = Field(
        default_factory=list,
        description="The latest result of each scheduled data-quality check of the organization (docs/quality.md)",
    )


def quality(conn: Connection[Any], org: serving.OrgState, q: questions.QualityQuery) -> Quality:
    span = q.span
    args = {"organization_id": org.id, "start": span.start, "end": span.end, "tz": org.tz.key, "interval": q.interval}
    points = db.fetch_all(conn, "dashboard_source_stats", args, SourcePoint)
    sums: dict[str, dict[str, int]] = {}
    counters = ("received", "stored", "duplicates", "rejected", "ignored", "refused")
    for p in points:
        slot = sums.setdefault(p.source, dict.fromkeys(counters, 0))
        for c in counters:
            slot[c] += getattr(p, c)
    totals = [SourcePoint(start=span.start, source=s, **v) for s, v in sorted(sums.items())]
    reasons = [
        RejectionReason(
            stage=r["stage"],
            kind=r["kind"] or "",
            field=r["loc"],
            example=r["example"] or "",
            occurrences=r["occurrences"],
            payloads=r["payloads"],
        )
        for r in db.fetch_all(conn, "dashboard_rejection_reasons", {**args, "limit": 10}, dict_row)
    ]
    waiting = db.fetch_one(conn, "dashboard_dead_letters_waiting", args, dict_row)
    assert waiting is not None
    sources = sorted({s for m in registry.REGISTRY.values() for s in m.sources})
    newest = db.fetch_one(conn, "dashboard_newest_event", {**args, "metrics": sources}, dict_row)
    assert newest is not None
    aggregated = None if newest["newest_bucket"] is None else newest["newest_bucket"] + _BUCKET
    age = None if aggregated is None else max(0.0, (datetime.now(UTC) - aggregated).total_seconds())
    depths = [
        QueueState(queue=d.queue, length=d.length, oldest_age_seconds=d.oldest_age_seconds)
        for d in answers.queue_depths(conn)
    ]
    return Quality(
        start=span.start,
        end=span.end,
        interval=q.interval,
        sources=points,
        totals=totals,
        rejection_reasons=reasons,
        dead_letters_waiting=int(waiting["dead_letters_waiting"]),
        oldest_dead_letter_at=waiting["oldest_dead_letter_at"],
        queues=depths,
        freshness=Freshness(
            newest_event_at=newest["newest_event_at"],
            newest_aggregated_at=aggregated,
            age_seconds=age,
            views=funnels.freshness(conn, org.id),
        ),
        checks=quality_checks.latest_results(conn, org.id, include_global=False),
    )
