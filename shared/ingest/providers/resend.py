"""Resend (and its Svix delivery): Standard Webhooks signatures and email event mapping.

Svix signs `<id>.<timestamp>.<body>` with HMAC-SHA256 under the base64 secret after `whsec_`; the
`svix-signature` (or `webhook-signature`) header holds space-separated `v1,<base64>` signatures, several during
the sender's own secret rotation. Each delivery's `svix-id` is stable across retries, so it is the event id.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import standardwebhooks
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.ingest import providers as p

HEADERS = ("svix-id", "svix-timestamp", "svix-signature")
_ALT = {"svix-id": "webhook-id", "svix-timestamp": "webhook-timestamp", "svix-signature": "webhook-signature"}
_TYPES = {
    "email.sent": "email.sent",
    "email.delivered": "email.delivered",
    "email.opened": "email.opened",
    "email.clicked": "email.clicked",
    "email.bounced": "email.bounced",
    "email.complained": "email.complained",
}
_BOUNCE = {"permanent": "hard", "hard": "hard", "transient": "soft", "soft": "soft"}


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Tag(_Read):
    name: str
    value: str


class _Click(_Read):
    link: str | None = None


class _Bounce(_Read):
    type: str | None = None


class _Data(_Read):
    email_id: str = Field(min_length=1)
    to: list[str] | str | None = None
    tags: dict[str, str] | list[_Tag] | None = None
    click: _Click | None = None
    bounce: _Bounce | None = None


class ResendEvent(_Read):
    type: str = Field(min_length=1)
    created_at: datetime
    data: dict[str, Any]


def _get(headers: Mapping[str, str], name: str) -> str | None:
    return p.header(headers, name) or p.header(headers, _ALT[name])


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str], now: datetime, tolerance: int) -> None:
    msg_id, stamp, signatures = (_get(headers, h) for h in HEADERS)
    if not (msg_id and stamp and signatures):
        raise p.Refused("the svix-id, svix-timestamp and svix-signature headers are required")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise p.Refused("svix-timestamp is not a Unix time in seconds") from None
    p.fresh(timestamp, now, tolerance)  # first: cheap, and keeps absurd timestamps away from datetime
    offered = [d for s in signatures.split() if s.startswith("v1,") and (d := p.b64decode_strict(s[3:])) is not None]
    text = body.decode("utf-8")
    for secret in secrets:
        # The library computes the signature; we compare in constant time and check freshness against `now`.
        expected = standardwebhooks.Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), text)
        digest = base64.b64decode(expected.partition(",")[2])
        if any(hmac.compare_digest(digest, candidate) for candidate in offered):
            return
    raise p.Refused("no v1 signature of svix-signature matches the source's signing secret")


def check_secret(secret: str) -> str | None:
    if not secret.startswith("whsec_"):
        return "must be a Svix/Resend signing secret (whsec_...)"
    try:
        standardwebhooks.Webhook(secret)
    except Exception:  # the library raises several kinds for a malformed secret
        return "the part after whsec_ must be base64"
    return None


def _tags(data: _Data) -> dict[str, str]:
    if isinstance(data.tags, dict):
        return data.tags
    return {t.name: t.value for t in data.tags or []}


def parse(body: str, headers: Mapping[str, str], source: p.Source) -> p.Mapped:
    out = p.Mapped(items=1)
    document, bad = p.load_json(body, "resend")
    if bad is not None:
        out.rejected.append(bad)
        return out
    try:
        evt = ResendEvent.model_validate(document)
        if evt.type not in _TYPES:
            out.ignored += 1
            return out
        data = _Data.model_validate(evt.data)
    except ValidationError as exc:
        out.rejected.append(p.rejected_from(exc, document, "resend"))
        return out
    delivery = _get(headers, "svix-id")
    event_id = p.ref("resend", delivery) if delivery else p.ref("resend", data.email_id, evt.type, evt.created_at)
    tags = _tags(data)
    recipient = data.to[0] if isinstance(data.to, list) and data.to else data.to
    fields: dict[str, Any] = {
        "message_id": p.ref_or_none(data.email_id) or p.ref("resend", data.email_id),
        "template": p.slug_or_none(tags.get("template")),
        "campaign": p.slug_or_none(tags.get("campaign")),
        "recipient": recipient if isinstance(recipient, str) and "@" in recipient else None,
    }
    if evt.type == "email.clicked" and data.click and data.click.link and data.click.link.startswith("http"):
        fields["url"] = data.click.link[:2048]
    if evt.type == "email.bounced":
        fields["bounce_type"] = _BOUNCE.get((data.bounce.type or "").lower(), "unknown") if data.bounce else "unknown"
    out.events.append(
        p.event(event_id, _TYPES[evt.type], p.iso(evt.created_at), fields, p.ref_or_none(tags.get("client_id")))
    )
    return out


PROVIDER = p.Provider(
    name="resend",
    headers=("svix-id", "webhook-id"),
    verify=verify,
    parse=parse,
    check_secret=check_secret,
    secret_label="Resend webhook signing secret (whsec_...)",
)
