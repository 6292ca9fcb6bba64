"""Reading stored reports for the dashboard (`GET /v1/reports`, `GET /v1/reports/<id>`): the list of an
organization's reports and one report's file, checked against its recorded sha256. Every query is scoped to
the caller's organization, so one organization can never read another's reports by id."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from psycopg import Connection
from pydantic import BaseModel, Field

from shared.core import db, errors
from shared.report import render, storage


class ReportRecord(BaseModel):
    """A row of analytics_reports: the report, where its files are and how its delivery went."""

    id: UUID
    organization_id: UUID
    kind: Literal["weekly", "monthly"]
    period_start: date
    period_end: date = Field(description="Exclusive: the first local day after the period")
    timezone: str
    status: Literal["generating", "stored", "failed"]
    files: dict[str, dict[str, Any]] = Field(description="format -> key, sha256, bytes, content_type, filename")
    summary: dict[str, Any]
    generation_attempts: int
    generation_error: str | None
    started_at: datetime | None
    generated_at: datetime | None
    generation_ms: int | None
    delivery_status: Literal["pending", "delivered", "failed", "not_requested", "no_recipients"]
    deliveries: dict[str, dict[str, Any]] = Field(description="channel (email, webhook) -> status, attempts, ...")
    delivery_attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class ReportSummary(BaseModel):
    """One entry of the dashboard's report list."""

    id: UUID
    kind: Literal["weekly", "monthly"]
    period_start: date
    period_end: date
    title: str | None
    status: str
    formats: list[str]
    generated_at: datetime | None
    delivery_status: str
    last_error: str | None
    headline: list[dict[str, Any]]


def get(conn: Connection[Any], org_id: UUID, report_id: UUID) -> ReportRecord:
    found = db.fetch_one(conn, "report_row", {"organization_id": org_id, "id": report_id}, ReportRecord)
    if found is None:
        raise errors.NotFound(f"report {report_id} does not exist for this organization")
    return found


def list_reports(
    conn: Connection[Any], org_id: UUID, *, kind: str | None = None, before: date | None = None, limit: int = 50
) -> list[ReportSummary]:
    """The organization's reports, newest period first; `before` pages by period start, `limit` 1..200."""
    if kind not in (None, "weekly", "monthly"):
        raise errors.InvalidInput("kind must be weekly or monthly")
    if not 1 <= limit <= 200:
        raise errors.InvalidInput("limit must be between 1 and 200")
    rows = db.fetch_all(
        conn, "report_list", {"organization_id": org_id, "kind": kind, "before": before, "limit": limit}, ReportRecord
    )
    out = []
    for r in rows:
        out.append(
            ReportSummary(
                id=r.id,
                kind=r.kind,
                period_start=r.period_start,
                period_end=r.period_end,
                title=r.summary.get("title"),
                status=r.status,
                formats=sorted(r.files),
                generated_at=r.generated_at,
                delivery_status=r.delivery_status,
                last_error=r.last_error or r.generation_error,
                headline=r.summary.get("headline", []),
            )
        )
    return out


def report_file(conn: Connection[Any], org_id: UUID, report_id: UUID, fmt: str) -> tuple[bytes, str, str]:
    """(bytes, content type, download filename) of one stored format (html, pdf, csv) of the report."""
    if fmt not in render.CONTENT_TYPES:
        raise errors.InvalidInput(f"format must be one of {', '.join(render.CONTENT_TYPES)}")
    rec = get(conn, org_id, report_id)
    meta = rec.files.get(fmt)
    if rec.status != "stored" or meta is None:
        raise errors.NotFound(f"report {report_id} has no stored {fmt} file (status {rec.status})")
    return storage.get(meta["key"], meta["sha256"]), meta["content_type"], meta["filename"]
