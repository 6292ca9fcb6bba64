"""Postmark: HTTP basic authentication (Postmark does not sign webhooks) and email event mapping.

The source's secret is the `user:password` pair we generate; it goes into the webhook URL Postmark calls
(`https://user:password@host/...`) and is compared in constant time. Postmark sends no timestamp, so replays
are defeated by idempotency: every event id is derived from Postmark's ids and times.
"""

from __future__ import annotations

import base64
import hmac
import secrets as _secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core import deadletters
from shared.ingest import providers as p

_BOUNCE = {"HardBounce": "hard", "SoftBounce": "soft", "Transient": "soft", "DnsError": "soft", "AutoResponder": "soft"}


class PostmarkRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    record_type: str = Field(alias="RecordType", min_length=1)
    message_id: str | None = Field(default=None, alias="MessageID")
    id: int | str | None = Field(default=None, alias="ID")
    recipient: str | None = Field(default=None, alias="Recipient")
    email: str | None = Field(default=None, alias="Email")
    tag: str | None = Field(default=None, alias="Tag")
    metadata: dict[str, str] = Field(default_factory=dict, alias="Metadata")
    delivered_at: datetime | None = Field(default=None, alias="DeliveredAt")
    bounced_at: datetime | None = Field(default=None, alias="BouncedAt")
    received_at: datetime | None = Field(default=None, alias="ReceivedAt")
    type: str | None = Field(default=None, alias="Type")
    original_link: str | None = Field(default=None, alias="OriginalLink")


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str], now: datetime, tolerance: int) -> None:
    scheme, _, token = (p.header(headers, "Authorization") or "").partition(" ")
    if scheme.lower() != "basic" or not token:
        raise p.Refused("HTTP basic authentication is required (put the credentials in the webhook URL)")
    try:
        offered = base64.b64decode(token.strip(), validate=True)
    except ValueError:
        raise p.Refused("the basic authentication header is malformed") from None
    if not any(hmac.compare_digest(offered, s.encode()) for s in secrets):
        raise p.Refused("the basic authentication credentials do not match the source's")


def generate_secret() -> str:
    return f"wedsync:{_secrets.token_urlsafe(24)}"


def check_secret(secret: str) -> str | None:
    user, sep, password = secret.partition(":")
    return None if sep and user and len(password) >= 16 else "must be user:password with a password of 16+ characters"


def parse(body: str, headers: Mapping[str, str], source: p.Source) -> p.Mapped:
    out = p.Mapped(items=1)
    document, bad = p.load_json(body, "postmark")
    if bad is not None:
        out.rejected.append(bad)
        return out
    try:
        record = PostmarkRecord.model_validate(document)
    except ValidationError as exc:
        out.rejected.append(p.rejected_from(exc, document, "postmark"))
        return out
    kinds = {
        "Delivery": ("email.delivered", record.delivered_at, ("delivered",)),
        "Bounce": ("email.bounced", record.bounced_at, ("bounce", record.id)),
        "SpamComplaint": ("email.complained", record.bounced_at, ("complaint", record.id)),
        "Open": ("email.opened", record.received_at, ("open", record.received_at)),
        "Click": ("email.clicked", record.received_at, ("click", record.received_at, record.original_link)),
    }
    if record.record_type not in kinds:
        out.ignored += 1
        return out
    type_, when, key = kinds[record.record_type]
    if not record.message_id or when is None:
        out.rejected.append(
            p.Rejected(
                document,
                [
                    deadletters.Reason(
                        loc=["postmark"],
                        type="missing",
                        msg=f"a {record.record_type} record needs MessageID and its time field",
                    )
                ],
                None,
                type_,
            )
        )
        return out
    recipient = record.recipient or record.email
    fields: dict[str, Any] = {
        "message_id": p.ref_or_none(record.message_id) or p.ref("postmark", record.message_id),
        "template": p.slug_or_none(record.metadata.get("template")),
        "campaign": p.slug_or_none(record.metadata.get("campaign")) or p.slug_or_none(record.tag),
        "recipient": recipient if recipient and "@" in recipient else None,
    }
    if type_ == "email.clicked" and record.original_link and record.original_link.startswith("http"):
        fields["url"] = record.original_link[:2048]
    if type_ == "email.bounced":
        fields["bounce_type"] = _BOUNCE.get(record.type or "", "unknown")
    out.events.append(
        p.event(
            p.ref("postmark", record.message_id, *key),
            type_,
            p.iso(when),
            fields,
            p.ref_or_none(record.metadata.get("client_id")),
        )
    )
    return out


PROVIDER = p.Provider(
    name="postmark",
    headers=(),
    verify=verify,
    parse=parse,
    generate_secret=generate_secret,
    check_secret=check_secret,
    secret_label="basic authentication user:password",
)
