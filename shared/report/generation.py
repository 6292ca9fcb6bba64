"""Generating, storing and delivering one report, idempotently and recoverably.

The report row (unique per organization, kind and period start) is the unit of work:
1. claim it: insert it, or lease an existing row that still needs work (a lease held by a live run is
   respected; one left by a run that died expires after REPORTS_LEASE_SECONDS and is taken over);
2. generate (numbers from `shared.metrics`), render (HTML, PDF, CSV), store the files, record keys and sha256;
3. deliver on each configured channel not yet delivered, recording attempts and the last error (`dispatch`);
4. release the lease.
A second run for a period whose report is stored and delivered finds nothing to claim and does nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel

from shared.core import db, errors, queries, replica, settings
from shared.report import access, config, content, dispatch, periods, render, storage, text
from shared.report import settings as report_settings

log = logging.getLogger(__name__)
Transaction = Callable[[], AbstractContextManager[Connection[Any]]]
ConnOrTransaction = Connection[Any] | Transaction


def _tx(target: ConnOrTransaction) -> Transaction:
    if isinstance(target, Connection):
        return lambda: contextlib.nullcontext(target)
    return target


class _Org(BaseModel):
    id: UUID
    name: str
    timezone: str
    currency: str
    settings: dict[str, Any]
    created_at: datetime


def _organization(conn: Connection[Any], org_id: UUID) -> _Org:
    org = db.fetch_one(conn, "report_organization", {"organization_id": org_id}, _Org)
    if org is None:
        raise errors.NotFound(f"organization {org_id} does not exist")
    return org


def _summary(data: content.ReportData) -> dict[str, Any]:
    return {
        "title": render.title(data),
        "period_label": data.period_label,
        "headline": [
            {
                "key": f.key,
                "label": f.label,
                "unit": f.unit,
                "currency": f.currency,
                "value": f.value,
                "previous": f.previous,
                "last_year": f.last_year,
                "formatted": text.value(f),
                "change_previous": text.change(f, f.previous),
                "change_last_year": text.change(f, f.last_year),
            }
            for f in data.headline
        ],
    }


def _filename(org: _Org, period: periods.Period, fmt: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", org.name.lower()).strip("-")[:40] or "report"
    return f"{slug}-{period.kind}-report-{period.code()}.{fmt}"


def _numbers(transaction: Transaction, org_id: UUID) -> AbstractContextManager[Connection[Any]]:
    """Where a report's numbers are read: with DATABASE_READ_URL set, one read-only snapshot that the replica serves
    when fresh enough (else the primary); unset, the caller's transaction as before. The report's own rows are
    always written through `transaction`, i.e. the primary."""
    if not settings.get_settings().database_read_url:
        return transaction()
    return _replica_numbers(org_id)


@contextlib.contextmanager
def _replica_numbers(org_id: UUID) -> Iterator[Connection[Any]]:
    with replica.snapshot() as snap:
        log.info("report numbers of %s read from the %s (as of %s)", org_id, snap.source, snap.as_of.isoformat())
        yield snap.conn


def _produce(transaction: Transaction, org: _Org, period: periods.Period, report_id: UUID) -> None:
    """Builds, renders and stores the files, then records them; a failure is recorded and re-raised."""
    started = time.monotonic()
    try:
        with _numbers(transaction, org.id) as conn:
            data = content.build(conn, org.id, period)
        rendered = render.render(data)
        files: dict[str, dict[str, Any]] = {}
        for fmt, body in rendered.files.items():
            key = storage.key(org.id, period.kind, period.code(), fmt)
            digest = storage.put(key, body, render.CONTENT_TYPES[fmt])
            files[fmt] = {
                "key": key,
                "sha256": digest,
                "bytes": len(body),
                "content_type": render.CONTENT_TYPES[fmt],
                "filename": _filename(org, period, fmt),
            }
    except Exception as exc:
        with transaction() as conn:
            conn.execute(
                queries.get("report_generation_failed"),
                {"id": report_id, "error": f"{exc.__class__.__name__}: {exc}"[:2000]},
            )
        raise
    with transaction() as conn:
        conn.execute(
            queries.get("report_stored"),
            {
                "id": report_id,
                "files": json.dumps(files),
                "summary": json.dumps(_summary(data), default=str),
                "generation_ms": round((time.monotonic() - started) * 1000),
            },
        )


def generate(
    target: ConnOrTransaction,
    org_id: UUID,
    kind: periods.Kind,
    period_start: date,
    *,
    deliver: bool = True,
    regenerate: bool = False,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> access.ReportRecord:
    """The report of `kind` for the organization's period containing `period_start`, stored (and delivered
    when `deliver` and the organization has recipients or a webhook). Idempotent: an existing stored report is
    returned untouched unless its delivery is still owed (then it is delivered) or `regenerate` is set.
    Raises InvalidInput for a period that has not closed yet or invalid settings, NotFound for an unknown
    organization. Accepts a connection (everything in its transaction) or a transaction factory (db.transaction:
    each step commits on its own, which is what makes a crash recoverable)."""
    made = produce(target, org_id, kind, period_start, deliver=deliver, regenerate=regenerate, now=now)
    if made.owed:
        return deliver_owed(_tx(target), made, sleep=sleep)
    return made.record


@dataclass(frozen=True)
class Made:
    """A report `produce` stored or found; `owed`: this caller holds its lease and must deliver it
    (`deliver_owed`), which releases the lease."""

    record: access.ReportRecord
    owed: bool
    org_name: str
    settings: config.ReportSettings


def produce(
    target: ConnOrTransaction,
    org_id: UUID,
    kind: periods.Kind,
    period_start: date,
    *,
    deliver: bool = True,
    regenerate: bool = False,
    now: datetime | None = None,
) -> Made:
    """Claims and stores the report as `generate` does, without delivering it: the report worker stores it in
    the transaction that deletes its queue message, and delivers after that commits."""
    if kind not in periods.KINDS:
        raise errors.InvalidInput("kind must be weekly or monthly")
    transaction = _tx(target)
    s = report_settings.get()
    with transaction() as conn:
        org = _organization(conn, org_id)
    cfg = config.from_settings(org.settings)
    period = periods.of(kind, period_start, cfg.week_start)
    if period.window(org.timezone)[1] > (now or datetime.now(UTC)):
        raise errors.InvalidInput(f"the {kind} period {period.label()} has not closed yet in {org.timezone}")
    channels = dispatch.channels(cfg)
    wanted = ("pending" if channels else "no_recipients") if deliver else "not_requested"
    params = {
        "organization_id": org_id,
        "kind": kind,
        "period_start": period.start,
        "period_end": period.end,
        "timezone": org.timezone,
        "lease_seconds": s.reports_lease_seconds,
        "delivery_status": wanted,
    }
    with transaction() as conn:
        row = db.fetch_one(conn, "report_claim_new", params, dict_row)
        fresh = row is not None
        if not fresh:
            row = db.fetch_one(
                conn,
                "report_claim_existing",
                {
                    **params,
                    "force": regenerate,
                    "max_generation_attempts": s.reports_max_generation_attempts,
                },
                dict_row,
            )
            if row is None:  # finished, or another run holds it
                return Made(_find(conn, org_id, kind, period.start), False, org.name, cfg)
    assert row is not None
    report_id: UUID = row["id"]
    try:
        if not fresh:
            status, delivery_status = row["status"], row["delivery_status"]
            deliveries, attempts = row["deliveries"], row["delivery_attempts"]
            if regenerate or status != "stored":
                if regenerate:  # delivered again only when asked; a no-deliver regeneration keeps the old record
                    keep = not deliver
                    delivery_status = delivery_status if keep and delivery_status == "delivered" else wanted
                    deliveries = deliveries if keep else {}
                    attempts = attempts if keep else 0
                with transaction() as conn:
                    conn.execute(
                        queries.get("report_start_generation"),
                        {
                            "id": report_id,
                            "period_end": period.end,
                            "timezone": org.timezone,
                            "delivery_status": delivery_status,
                            "deliveries": json.dumps(deliveries),
                            "delivery_attempts": attempts,
                        },
                    )
                _produce(transaction, org, period, report_id)
        else:
            _produce(transaction, org, period, report_id)
        with transaction() as conn:
            rec = access.get(conn, org_id, report_id)
            owed = deliver and rec.delivery_status in ("pending", "failed")
            if not owed:
                conn.execute(queries.get("report_release"), {"id": report_id})
    except BaseException:
        log.exception("report %s of %s for %s failed", kind, org_id, period.code())
        raise
    return Made(rec, owed, org.name, cfg)


def deliver_owed(
    transaction: Transaction, made: Made, *, sleep: Callable[[float], None] = time.sleep
) -> access.ReportRecord:
    """Deliver a report `produce` left owed (its lease held by this caller), record the outcome, release the
    lease. A crash before the outcome is recorded leaves the lease to expire; the next plan queues it again."""
    rec = made.record
    try:
        dispatch.deliver(transaction, rec.organization_id, made.org_name, made.settings, rec, sleep)
    except BaseException:
        log.exception("delivery of report %s failed", rec.id)
        raise
    with transaction() as conn:
        return access.get(conn, rec.organization_id, rec.id)


def _find(conn: Connection[Any], org_id: UUID, kind: str, start: date) -> access.ReportRecord:
    report_id = db.fetch_scalar(
        conn, "report_by_period", {"organization_id": org_id, "kind": kind, "period_start": start}
    )
    assert report_id is not None
    return access.get(conn, org_id, report_id)


def backfill(
    org_id: UUID,
    kind: periods.Kind,
    from_date: date,
    to_date: date,
    *,
    deliver: bool = False,
    regenerate: bool = False,
    transaction: Transaction | None = None,
    now: datetime | None = None,
) -> list[access.ReportRecord]:
    """Every closed period of `kind` that starts between from_date and to_date (inclusive), oldest first;
    not delivered unless asked (a backfill should not email a year of reports)."""
    tx = transaction or db.transaction
    with tx() as conn:
        cfg = config.from_settings(_organization(conn, org_id).settings)
    out = []
    period = periods.of(kind, from_date, cfg.week_start)
    if period.start < from_date:
        period = (
            periods.Period(kind, period.end, period.end + (period.end - period.start))
            if kind == "weekly"
            else periods.month_of(period.end)
        )
    while period.start <= to_date:
        try:
            out.append(generate(tx, org_id, kind, period.start, deliver=deliver, regenerate=regenerate, now=now))
        except errors.InvalidInput as exc:
            if "has not closed yet" in str(exc):
                break
            raise
        period = (
            periods.Period(kind, period.end, period.end + timedelta(weeks=1))
            if kind == "weekly"
            else periods.month_of(period.end)
        )
    return out
