"""The generic signed form webhook, for the WedSync form builder and home-made forms.

The sender signs `<timestamp>.<raw body>` with HMAC-SHA256 under the source's secret and sends
`X-WedSync-Timestamp: <Unix seconds>` and `X-WedSync-Signature: sha256=<hex>` (several comma-separated
signatures are accepted, for the sender's own key rotation). The timestamp is inside the MAC, so it cannot be
changed without the secret; deliveries older or newer than the tolerance (300 s) are refused, and a replay
inside it is a duplicate because the event ids derive from `submission_id`. Format: docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.catalog import privacy
from shared.ingest import providers as p
from shared.ingest import settings as ingest_settings

SIGNATURE_HEADER = "X-WedSync-Signature"
TIMESTAMP_HEADER = "X-WedSync-Timestamp"


class FormSubmission(BaseModel):
    """The fields we read; anything else (the answers themselves) is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    submission_id: str = Field(min_length=1, max_length=200)
    form_id: str = Field(min_length=1, max_length=200)
    submitted_at: datetime
    form_name: str | None = None
    client_id: str | None = None
    session_id: str | None = None
    is_inquiry: bool = False
    lead_source: str | None = None
    email: str | None = None
    phone: str | None = None
    wedding_date: date | None = None
    guest_count: int | None = None
    budget_minor: int | None = None
    currency: str | None = None


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The X-WedSync-Signature value for a body sent at `timestamp` (what a sender computes)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str], now: datetime, tolerance: int) -> None:
    offered, stamp = p.header(headers, SIGNATURE_HEADER), p.header(headers, TIMESTAMP_HEADER)
    if not offered or not stamp:
        raise p.Refused(f"the {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} headers are required")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise p.Refused(f"{TIMESTAMP_HEADER} must be a Unix time in seconds") from None
    candidates = [c.strip().encode() for c in offered.split(",") if c.strip()]
    for secret in secrets:
        expected = sign(body, secret, timestamp).encode()
        if any(hmac.compare_digest(expected, c) for c in candidates):
            p.fresh(timestamp, now, tolerance)
            return
    raise p.Refused(f"no {SIGNATURE_HEADER} matches the source's secret")


def parse(body: str, headers: Mapping[str, str], source: p.Source) -> p.Mapped:
    out = p.Mapped(items=1)
    document, bad = p.load_json(body, "form")
    if bad is not None:
        out.rejected.append(bad)
        return out
    try:
        sub = FormSubmission.model_validate(document)
    except ValidationError as exc:
        out.rejected.append(p.rejected_from(exc, document, "form"))
        return out
    inquiry: dict[str, Any] = {
        "email": sub.email,
        "phone": sub.phone,
        "guest_count": sub.guest_count,
        "budget_minor": sub.budget_minor,
        "currency": sub.currency,
        "wedding_date": sub.wedding_date.isoformat() if sub.wedding_date else None,
    }
    # Identified by the email only: its pseudonym, since identifiers never carry personal data in clear.
    key = ingest_settings.get().pii_hash_key.get_secret_value().encode()
    client = p.ref_or_none(sub.client_id) or (privacy.pseudonym(sub.email, key) if sub.email else None)
    events = p.form_events(
        "form",
        sub.submission_id,
        source,
        form_id=sub.form_id,
        form_name=sub.form_name,
        when=p.iso(sub.submitted_at),
        client_id=client,
        is_inquiry=sub.is_inquiry or source.is_inquiry_form(sub.form_id),
        lead_source=sub.lead_source,
        inquiry=inquiry,
    )
    if sub.session_id:
        events[0]["data"]["session_id"] = sub.session_id
    out.events.extend(events)
    return out


PROVIDER = p.Provider(
    name="form",
    headers=(),
    verify=verify,
    parse=parse,
    generate_secret=p.hmac_secret,
    check_secret=p.check_hmac_secret,
    secret_label="form signing secret",
)
