"""Delivering a stored report on the organization's channels (email, webhook), and recording the outcome.

Delivery reads the stored files back, so an email or webhook shows exactly what was stored even when a later run
delivers a report an earlier run rendered. Each channel is tried a few times per run (`delivery.attempt`); what
is still owed is retried by a later run with a growing delay, until REPORTS_MAX_DELIVERY_ATTEMPTS.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection

from shared.core import queries
from shared.report import access, config, delivery, storage
from shared.report import settings as report_settings

Transaction = Callable[[], AbstractContextManager[Connection[Any]]]


def channels(cfg: config.ReportSettings) -> list[str]:
    """The channels the organization's report settings ask for, in delivery order."""
    return (["email"] if cfg.recipients else []) + (["webhook"] if cfg.webhook_url else [])


_DATA_IMAGE = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def email_parts(stored_html: bytes) -> tuple[str, list[tuple[str, bytes]]]:
    """The stored page with its data-URI charts turned into cid: references, and the images to attach: the
    email shows exactly what was stored, even when a later run delivers a report an earlier run rendered."""
    images: list[tuple[str, bytes]] = []

    def swap(m: re.Match[str]) -> str:
        cid = f"chart{len(images) + 1}@wedsync.report"
        images.append((cid, base64.b64decode(m[1])))
        return f'src="cid:{cid}"'

    return _DATA_IMAGE.sub(swap, stored_html.decode("utf-8")), images


def _plain(rec: access.ReportRecord) -> str:
    lines = [rec.summary.get("title", "Your report"), ""]
    lines += [
        f"{h['label']}{' (' + h['currency'] + ')' if h.get('currency') else ''}: {h['formatted']} "
        f"({h['change_previous']} vs previous period, {h['change_last_year']} vs last year)"
        for h in rec.summary.get("headline", [])
    ]
    lines += ["", "The full report is in the attached PDF; every number is in the attached CSV."]
    return "\n".join(lines)


def _webhook_body(rec: access.ReportRecord) -> dict[str, Any]:
    base = report_settings.get().reports_public_base_url
    files = {
        fmt: {k: meta[k] for k in ("filename", "content_type", "bytes", "sha256")}
        | ({"url": f"{base.rstrip('/')}/v1/reports/{rec.id}?format={fmt}"} if base else {})
        for fmt, meta in sorted(rec.files.items())
    }
    return {
        "type": "report.ready",
        "report": {
            "id": str(rec.id),
            "organization_id": str(rec.organization_id),
            "kind": rec.kind,
            "period_start": rec.period_start.isoformat(),
            "period_end": rec.period_end.isoformat(),
            "timezone": rec.timezone,
            "title": rec.summary.get("title"),
        },
        "summary": rec.summary,
        "files": files,
    }


def deliver(
    transaction: Transaction,
    org_id: UUID,
    org_name: str,
    cfg: config.ReportSettings,
    rec: access.ReportRecord,
    sleep: Callable[[float], None],
) -> None:
    """Deliver the report on every configured channel it is still owed on and record each channel's outcome, the
    attempts so far and when to try again; one failing channel never stops the others."""
    s = report_settings.get()
    states = dict(rec.deliveries)
    for channel in channels(cfg):
        state = states.get(channel, {})
        if state.get("status") == "delivered":
            continue
        if channel == "email":

            def send_email() -> object:
                files = {fmt: storage.get(m["key"], m["sha256"]) for fmt, m in rec.files.items()}
                body, images = email_parts(files["html"])
                raw = delivery.email_message(
                    s.reports_email_sender or "",
                    cfg.recipients,
                    f"{org_name}: {rec.summary.get('title')}",
                    body,
                    _plain(rec),
                    images,
                    [(rec.files[f]["filename"], rec.files[f]["content_type"], files[f]) for f in ("pdf", "csv")],
                )
                return delivery.send_email(raw, cfg.recipients)

            states[channel] = delivery.attempt(state, send_email, sleep=sleep)
        else:
            payload = _webhook_body(rec)

            def send_webhook(body: dict[str, Any] = payload) -> object:
                return delivery.post_webhook(str(cfg.webhook_url), org_id, body)

            states[channel] = delivery.attempt(state, send_webhook, sleep=sleep)
    failed = {c: v for c, v in states.items() if v.get("status") != "delivered" and c in channels(cfg)}
    attempts = sum(int(v.get("attempts", 0)) for v in states.values())
    runs_failed = max(1, -(-attempts // s.reports_delivery_tries))  # runs that have tried so far
    give_up = attempts >= s.reports_max_delivery_attempts
    next_at = (
        None
        if not failed or give_up
        else datetime.now(UTC) + timedelta(seconds=min(86_400, s.reports_retry_later_seconds * 2 ** (runs_failed - 1)))
    )
    last = "; ".join(f"{c}: {v['last_error']}" for c, v in failed.items()) or next(
        (f"{c}: {v['last_error']}" for c, v in states.items() if v.get("last_error")), None
    )
    with transaction() as conn:
        conn.execute(
            queries.get("report_delivery_outcome"),
            {
                "id": rec.id,
                "delivery_status": "failed" if failed else "delivered",
                "deliveries": json.dumps(states),
                "delivery_attempts": attempts,
                "last_error": last,
                "next_attempt_at": next_at,
            },
        )
