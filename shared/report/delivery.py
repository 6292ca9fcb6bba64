"""Delivering a stored report: an email through Amazon SES (`send_raw_email`, the HTML with its charts as inline
CID images, the PDF and CSV attached) and/or a signed webhook POST.

Each channel is tried up to REPORTS_DELIVERY_TRIES times in a run with exponential backoff; what still fails is
recorded per channel in the report row and retried by later runs (doubling waits, bounded attempts). A channel
that succeeded is never repeated, so a recipient gets one email even when the webhook keeps failing.

Webhook signature: header `WedSync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
the secret is per organization, derived from REPORTS_WEBHOOK_KEY (`signing_secret`, printed by
`wedsync-analytics report webhook-secret --org ID`). Receivers recompute it and refuse old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from typing import Any
from uuid import UUID

import requests

from shared.report import settings as report_settings

SIGNATURE_HEADER = "WedSync-Signature"


class DeliveryError(Exception):
    """One delivery try failed; the message says why (kept as the row's last_error)."""


def signing_secret(org_id: UUID) -> str:
    """The organization's report webhook secret: HMAC(REPORTS_WEBHOOK_KEY, org id). Rotating the key rotates all."""
    key = report_settings.get().reports_webhook_key.get_secret_value().encode()
    return "whsec_" + hmac.new(key, f"report-webhook:{org_id}".encode(), hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """What a receiver does (and the tests): the signature matches and the timestamp is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        ts = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - ts) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header)


def email_message(
    sender: str,
    recipients: list[str],
    subject: str,
    html_body: str,
    plain: str,
    images: list[tuple[str, bytes]],
    attachments: list[tuple[str, str, bytes]],
) -> bytes:
    """A MIME message: multipart/mixed[ multipart/related[ alternative[plain, html], images ], attachments ]."""
    root = MIMEMultipart("mixed")
    root["Subject"] = subject
    root["From"] = sender
    root["To"] = ", ".join(recipients)
    root["Date"] = formatdate(localtime=False)
    root["Message-ID"] = make_msgid(domain="wedsync.analytics")
    related = MIMEMultipart("related")
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(plain, "plain", "utf-8"))
    alternative.attach(MIMEText(html_body, "html", "utf-8"))
    related.attach(alternative)
    for cid, png in images:
        img = MIMEImage(png, "png")
        img.add_header("Content-ID", f"<{cid}>")
        img.add_header("Content-Disposition", "inline", filename=f"{cid}.png")
        related.attach(img)
    root.attach(related)
    for filename, content_type, body in attachments:
        maintype, _, subtype = content_type.split(";")[0].partition("/")
        part = (
            MIMEApplication(body, subtype)
            if maintype == "application"
            else MIMEText(body.decode("utf-8-sig"), subtype, "utf-8")
        )
        part.add_header("Content-Disposition", "attachment", filename=filename)
        root.attach(part)
    return root.as_bytes()


def send_email(raw: bytes, recipients: list[str]) -> str:
    """Sends through SES; returns the SES message id. Any refusal becomes a DeliveryError."""
    import boto3
    import botocore.exceptions

    s = report_settings.get()
    if not s.reports_email_sender:
        raise DeliveryError("email is not configured: set REPORTS_EMAIL_SENDER (a verified SES identity)")
    client = boto3.client("ses", region_name=s.reports_ses_region)
    try:
        answer = client.send_raw_email(Source=s.reports_email_sender, Destinations=recipients, RawMessage={"Data": raw})
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise DeliveryError(f"SES refused the email: {exc}") from exc
    return str(answer["MessageId"])


def post_webhook(url: str, org_id: UUID, body: dict[str, Any]) -> int:
    """POSTs the signed JSON body; a non-2xx answer or a network error is a DeliveryError."""
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(signing_secret(org_id), ts, data),
        "User-Agent": "WedSync-Analytics-Reports/1",
    }
    try:
        answer = requests.post(
            url, data=data, headers=headers, timeout=report_settings.get().reports_webhook_timeout_seconds
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"webhook {url} unreachable: {exc.__class__.__name__}: {exc}") from exc
    if not 200 <= answer.status_code < 300:
        raise DeliveryError(f"webhook {url} answered HTTP {answer.status_code}: {answer.text[:200]}")
    return answer.status_code


def attempt(
    channel: dict[str, Any], send: Callable[[], object], *, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Tries `send` up to REPORTS_DELIVERY_TRIES times with exponential backoff and returns the channel's new
    state {status, attempts, last_error, delivered_at}; `attempts` counts every try over all runs."""
    s = report_settings.get()
    state = {"status": "pending", "attempts": 0, "last_error": None, "delivered_at": None, **channel}
    for i in range(s.reports_delivery_tries):
        if i:
            sleep(s.reports_retry_base_seconds * 2 ** (i - 1))
        state["attempts"] += 1
        try:
            send()
        except DeliveryError as exc:
            state["status"], state["last_error"] = "failed", str(exc)
            continue
        state["status"], state["delivered_at"] = "delivered", datetime.now(UTC).isoformat()
        return state
    return state
