"""Reconciliation: rollups against raw events, through the aggregation stage's `analytics_reconcile_v1`.

The function recomputes an organization's window from raw events (about 17 ms for a small organization), so at
10,000 organizations it cannot run for all of them every 5 minutes. Each run therefore recomputes only
organizations with events stored or rollups written in the window, at most QUALITY_RECONCILE_ORGS_PER_RUN of
them, those reconciled longest ago (or never) first; the others keep their latest stored result, carried
forward unchanged, so they are neither forgotten nor re-alerted. Organizations with nothing in the window pass.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import dict_row

from shared.core import db
from shared.monitor import checks, measurements
from shared.monitor import settings as monitor_settings

Transaction = Callable[[], AbstractContextManager[Connection[Any]]]


def reconcile(transaction: Transaction, scope: checks.Scope, now: datetime) -> list[measurements.CheckResult]:
    """One reconciliation result per organization of `scope` (recomputed, carried forward, or a pass).

    Recomputation goes in chunks of QUALITY_RECONCILE_CHUNK organizations, each one statement in its own short
    transaction: the function takes an advisory lock per organization until commit, and thousands of them in
    one transaction would fill the server's lock table. Each returned row is one mismatch; an error inside the
    function fails the check of the organization it came from only.
    """
    cfg = monitor_settings.get()
    window = {"from": now - timedelta(days=cfg.quality_reconcile_days), "to": now}
    orgs = [str(org) for org in scope]
    with transaction() as conn:
        candidates: list[UUID] = db.fetch_scalars(
            conn, "quality_reconcile_candidates", {**window, "organizations": orgs}
        )
        latest = {
            r.organization_id: r
            for r in db.fetch_all(conn, "quality_reconcile_latest", {"organizations": orgs}, measurements.CheckResult)
        }
    never = datetime.min.replace(tzinfo=now.tzinfo)
    due = heapq.nsmallest(
        cfg.quality_reconcile_orgs_per_run,
        candidates,
        key=lambda org: (latest[org].checked_at if org in latest else never, str(org)),
    )
    later = set(candidates) - set(due)
    mismatches: dict[UUID, list[Any]] = {}
    errors: dict[UUID, str] = {}
    for chunk in _chunks(due, cfg.quality_reconcile_chunk):
        try:
            _recompute(transaction, chunk, window, mismatches)
        except Exception:  # find which organization's reconciliation fails; the others still count
            for org in chunk:
                try:
                    _recompute(transaction, [org], window, mismatches)
                except Exception as exc:  # a broken reconcile function is a failing check, not a crash
                    errors[org] = str(exc).strip()[:300]
    results = []
    for org in scope:
        if org in later:
            if org in latest:
                results.append(latest[org].model_copy(update={"status_since": None}))
            continue
        results.append(_reconciled(org, mismatches.get(org, []), errors.get(org), window, now))
    return results


def _chunks(items: list[UUID], size: int) -> Iterator[list[UUID]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _recompute(
    transaction: Transaction, orgs: list[UUID], window: dict[str, datetime], into: dict[UUID, list[Any]]
) -> None:
    with transaction() as conn:
        rows = db.fetch_all(conn, "quality_reconcile", {**window, "organizations": [str(o) for o in orgs]}, dict_row)
    for r in rows:
        into.setdefault(r["organization_id"], []).append(r["mismatch"])


def _reconciled(
    org: UUID, mismatches: list[Any], error: str | None, window: dict[str, datetime], now: datetime
) -> measurements.CheckResult:
    days = monitor_settings.get().quality_reconcile_days
    if error is not None:
        message = f"reconciliation error: {error}"
        return measurements.result(org, "reconciliation", "", "fail", None, 0.0, "mismatches", message, now)
    return measurements.result(
        org,
        "reconciliation",
        "",
        "fail" if mismatches else "pass",
        float(len(mismatches)),
        0.0,
        "mismatches",
        f"{len(mismatches)} mismatch(es) over {days} days",
        now,
        mismatches=mismatches[:20],
        window_from=window["from"].isoformat(),
        window_to=window["to"].isoformat(),
    )
