"""Alerts: a failing check opens an incident and notifies once; its recovery resolves it and notifies once more.

State lives in `analytics_quality_incidents` (one open incident per organization, check and subject).
Notifications go out after the state change commits, by signed webhook and/or email (Amazon SES): the run
queues one `alerts` message per incident due, in the transaction that changes the incidents, and alert-worker
instances deliver one incident per transaction (a slow receiver holds one incident, never the run). Each
channel's delivery is recorded, so a failed channel is retried on the next run without repeating the
channels that already succeeded. Receivers can drop a rare repeat (a crash between send and record) by the
`X-WedSync-Delivery` header, which is stable per incident, state and channel.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import requests
from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core import db, queries, queues
from shared.monitor import alertrules, measurements, quality
from shared.monitor import settings as monitor_settings

log = logging.getLogger(__name__)
State = Literal["opened", "resolved"]


class AlertSettings(BaseModel):
    """`organizations.settings.alerts`: where an organization's alerts go (both channels optional)."""

    model_config = ConfigDict(extra="ignore")

    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    webhook_secret: str | None = Field(
        default=None, min_length=16, description="HMAC key for this organization's webhook (else the global one)"
    )
    emails: list[str] = Field(default_factory=list)


class Notification(BaseModel):
    """The webhook body and the content of the email."""

    incident_id: int
    state: State
    organization_id: UUID
    check: str
    subject: str
    status: str
    value: float | None
    threshold: float | None
    message: str
    opened_at: datetime
    resolved_at: datetime | None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: `v1=` + hex HMAC-SHA256 over `<timestamp>.<body>`."""
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _recipients(conn: Connection[Any], org: UUID) -> tuple[AlertSettings, str]:
    """The organization's alert settings, or the global ones for global checks and orgs without their own."""
    cfg = monitor_settings.get()
    fallback = AlertSettings(webhook_url=cfg.alert_webhook_url, emails=cfg.alert_emails)
    global_secret = cfg.alert_webhook_secret.get_secret_value()
    if org == measurements.GLOBAL:
        return fallback, global_secret
    row = db.fetch_one(conn, "get_organization", {"id": org}, dict_row)
    raw = (row["settings"] or {}).get("alerts") if row else None
    try:
        own = AlertSettings.model_validate(raw) if raw else None
    except ValidationError as exc:
        log.warning("organization %s has invalid alert settings: %s", org, exc)
        own = None
    if own is None or not (own.webhook_url or own.emails):
        return fallback, global_secret
    return own, own.webhook_secret or global_secret


def _family(check: str) -> str:
    """`business` for the business alerts (docs/alerts.md), `quality` for the data-quality checks."""
    return "business" if check.startswith("business.") else "quality"


def send_webhook(url: str, secret: str, note: Notification, delivery: str) -> None:
    body = note.model_dump_json().encode()
    stamp = str(int(time.time()))
    answer = requests.post(
        url,
        data=body,
        timeout=monitor_settings.get().alert_timeout_seconds,
        headers={
            "Content-Type": "application/json",
            "X-WedSync-Event": f"{_family(note.check)}.incident.{note.state}",
            "X-WedSync-Delivery": delivery,
            "X-WedSync-Timestamp": stamp,
            "X-WedSync-Signature": sign(secret, stamp, body),
        },
    )
    answer.raise_for_status()


def send_email(recipients: list[str], note: Notification) -> None:
    import boto3

    cfg = monitor_settings.get()
    verb = "FAILING" if note.state == "opened" else "recovered"
    subject = f"[WedSync Analytics] {note.check} {note.subject} {verb}".replace("  ", " ")
    text = (
        f"Check: {note.check} {note.subject}\nState: {note.state} (status {note.status})\n"
        f"Value: {note.value} (threshold {note.threshold})\n{note.message}\n"
        f"Organization: {note.organization_id}\nOpened: {note.opened_at:%Y-%m-%d %H:%M} UTC\n"
        + (f"Resolved: {note.resolved_at:%Y-%m-%d %H:%M} UTC\n" if note.resolved_at else "")
        + f"Incident: {note.incident_id}\n"
    )
    boto3.client("ses", region_name=cfg.aws_region).send_email(
        Source=cfg.alert_email_from,
        Destination={"ToAddresses": recipients},
        Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}},
    )


def update_incidents(conn: Connection[Any], summary: quality.RunSummary, now: datetime) -> tuple[int, int]:
    """Open incidents for new failures, resolve those that stopped failing; returns (opened, resolved).

    Only incidents of the organizations this run covered are resolved (a one-organization run leaves the
    others alone). A check that is no longer measured at all counts as recovered.
    """
    covered = [str(o) for o in summary.organizations]
    failing = {(r.organization_id, r.check, r.subject): r for r in summary.results if r.status == "fail"}
    latest = {(r.organization_id, r.check, r.subject): r for r in summary.results}
    open_now = {
        (r["organization_id"], r["check_name"], r["subject"]): r["id"]
        for r in db.fetch_all(conn, "incidents_open", {"organizations": covered}, dict_row)
    }
    # One statement each for the updates, the openings and the resolutions: at 10,000 organizations a run has
    # thousands of failures, and a round trip per incident cost more than the checks that found them.
    still = [(open_now[key], r) for key, r in failing.items() if key in open_now]
    new = [(key, r) for key, r in failing.items() if key not in open_now]
    if still:
        conn.execute(
            queries.get("incidents_update_many"),
            {
                "now": now,
                "ids": [i for i, _ in still],
                "statuses": [r.status for _, r in still],
                "values": [r.value for _, r in still],
                "thresholds": [r.threshold for _, r in still],
                "messages": [r.message for _, r in still],
            },
        )
    opened = 0
    if new:
        opened = len(
            conn.execute(
                queries.get("incidents_open_many"),
                {
                    "now": now,
                    "organization_ids": [key[0] for key, _ in new],
                    "check_names": [key[1] for key, _ in new],
                    "subjects": [key[2] for key, _ in new],
                    "statuses": [r.status for _, r in new],
                    "values": [r.value for _, r in new],
                    "thresholds": [r.threshold for _, r in new],
                    "messages": [r.message for _, r in new],
                },
            ).fetchall()
        )
    gone = [(incident_id, latest.get(key)) for key, incident_id in open_now.items() if key not in failing]
    if gone:
        conn.execute(
            queries.get("incidents_resolve_many"),
            {
                "now": now,
                "ids": [i for i, _ in gone],
                "statuses": [last.status if last else "pass" for _, last in gone],
                "values": [last.value if last else None for _, last in gone],
                "messages": [last.message if last else "no longer measured" for _, last in gone],
            },
        )
    resolved = len(gone)
    return opened, resolved


@dataclass(frozen=True)
class _Unnotified:
    """An incident whose opening or resolution has not reached every channel yet."""

    id: int
    organization_id: UUID
    check_name: str
    subject: str
    opened_at: datetime
    resolved_at: datetime | None
    last_status: str
    last_value: float | None
    threshold: float | None
    message: str
    opened_notified_at: datetime | None
    resolved_notified_at: datetime | None
    deliveries: dict[str, Any]


def _notify(conn: Connection[Any], incident: _Unnotified, muted: set[tuple[UUID, str]]) -> int:
    """Send what is due of one incident (its opening, then its resolution) and record it; returns how many sent."""
    sent = 0
    due: list[State] = []
    if incident.opened_notified_at is None:
        due.append("opened")
    if incident.resolved_at is not None and incident.resolved_notified_at is None:
        due.append("resolved")
    targets, secret = _recipients(conn, incident.organization_id)
    if (incident.organization_id, incident.check_name) in muted:
        targets = AlertSettings()  # muted: recorded as notified, nothing sent, never sent later
    for state in due:
        note = Notification(
            incident_id=incident.id,
            state=state,
            organization_id=incident.organization_id,
            check=incident.check_name,
            subject=incident.subject,
            status=incident.last_status,
            value=incident.last_value,
            threshold=incident.threshold,
            message=incident.message,
            opened_at=incident.opened_at,
            resolved_at=incident.resolved_at if state == "resolved" else None,
        )
        done, errors = _deliver(note, targets, secret, incident.deliveries)
        sent += sum(1 for k in done if k.startswith(state))
        complete = not errors
        conn.execute(
            queries.get("incident_notified"),
            {
                "id": incident.id,
                "what": state,
                "complete": complete,
                "now": datetime.now(UTC),
                "deliveries": json.dumps(done),
                "error": "; ".join(errors)[:1000] or None,
            },
        )
        if not complete:
            break  # never announce a recovery before the failure reached everyone
    return sent


def queue_due(conn: Connection[Any]) -> int:
    """Queue one `alerts` message per incident still to notify (none twice), in the caller's transaction."""
    return int(db.fetch_scalar(conn, "alerts_queue_due", {"queue": monitor_settings.get().alerts_queue}) or 0)


@dataclass
class AlertDrain:
    """What an alert-worker drain did."""

    messages: int = 0
    notifications: int = 0

    def add(self, other: AlertDrain) -> None:
        self.messages += other.messages
        self.notifications += other.notifications


def notify_one(transaction: Callable[[], AbstractContextManager[Connection[Any]]]) -> AlertDrain:
    """Deliver one queued incident in one transaction with its message: the incident row is locked while its
    channels are called, its deliveries recorded and the message deleted. A channel that failed is recorded as
    such and retried when the next monitor run queues the incident again (a delivered channel is never repeated)."""
    cfg = monitor_settings.get()
    with transaction() as conn:
        batch = queues.read(conn, cfg.alerts_queue, visibility_timeout=cfg.queue_visibility_timeout_seconds, quantity=1)
        if not batch:
            return AlertDrain()
        msg = batch[0]
        sent = 0
        raw = msg.message.get("incident_id") if isinstance(msg.message, dict) else None
        if isinstance(raw, int):
            incident = db.fetch_one(conn, "incident_to_notify", {"id": raw}, _Unnotified)
            if incident is not None:  # else: notified already, or another worker holds it
                sent = _notify(conn, incident, alertrules.muted(conn, datetime.now(UTC)))
        else:
            log.error("alerts message %s is not an incident: %s", msg.msg_id, msg.message)
        queues.delete(conn, cfg.alerts_queue, [msg.msg_id])
    return AlertDrain(messages=1, notifications=sent)


def drain(
    transaction: Callable[[], AbstractContextManager[Connection[Any]]], *, budget: timedelta = timedelta(seconds=50)
) -> tuple[AlertDrain, bool]:
    """Run `notify_one` until the queue is empty or the budget is spent; returns (totals, more_waiting)."""
    return queues.drain_batches(lambda: notify_one(transaction), budget)


def notify_pending(transaction: Callable[[], AbstractContextManager[Connection[Any]]]) -> int:
    """Queue and send, in this process, every notification not delivered yet (this run's and earlier failed
    ones); returns how many were sent. In production the monitor only queues and alert-worker sends."""
    with transaction() as conn:
        queue_due(conn)
    sent, more = 0, True
    while more:
        drained, more = drain(transaction)
        sent += drained.notifications
    return sent


def _deliver(
    note: Notification, targets: AlertSettings, secret: str, already: dict[str, Any]
) -> tuple[dict[str, str], list[str]]:
    done: dict[str, str] = {}
    errors: list[str] = []
    channels: list[tuple[str, Callable[[], None]]] = []
    if targets.webhook_url:
        url = targets.webhook_url
        channels.append(
            ("webhook", lambda: send_webhook(url, secret, note, f"incident-{note.incident_id}-{note.state}-webhook"))
        )
    if targets.emails:
        emails = targets.emails
        channels.append(("email", lambda: send_email(emails, note)))
    for name, send in channels:
        key = f"{note.state}:{name}"
        if key in already:
            continue
        try:
            send()
        except Exception as exc:  # one channel failing must not stop the others
            log.warning("alert %s for incident %s failed: %s", key, note.incident_id, exc)
            errors.append(f"{name}: {str(exc)[:300]}")
            continue
        done[key] = datetime.now(UTC).isoformat()
    return done, errors


def process(
    transaction: Callable[[], AbstractContextManager[Connection[Any]]],
    summary: quality.RunSummary,
    now: datetime | None = None,
    *,
    deliver: bool = True,
) -> dict[str, int]:
    """Update incidents from a run and queue the notifications due (one transaction); then, with `deliver`,
    send them in this process (the CLI, local runs). The monitor function passes deliver=False: alert-worker
    instances send them. Returns counts."""
    if summary.skipped:
        return {"opened": 0, "resolved": 0, "queued": 0, "notifications": 0}
    with transaction() as conn:
        opened, resolved = update_incidents(conn, summary, now or datetime.now(UTC))
        queued = queue_due(conn)
    sent = notify_pending(transaction) if deliver else 0
    return {"opened": opened, "resolved": resolved, "queued": queued, "notifications": sent}
