"""SendGrid Event Webhook: ECDSA (P-256, SHA-256) signature over timestamp + raw body, a batch per call.

Verification uses `starkbank-ecdsa`, the library SendGrid's own Python helper uses. The source's "secret" is
the account's verification public key as SendGrid shows it (base64 DER) or PEM; it is not secret, but it is
stored the same way. Every item carries `sg_event_id`, stable across retries: it is the event id. Each item of
the batch is read on its own, so one bad item is dead-lettered and the others are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ellipticcurve import Ecdsa, PublicKey, Signature
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core import deadletters
from shared.ingest import providers as p

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
_TYPES = {
    "processed": "email.sent",
    "delivered": "email.delivered",
    "open": "email.opened",
    "click": "email.clicked",
    "bounce": "email.bounced",
    "spamreport": "email.complained",
}
# SendGrid's `type` on a bounce event: "bounce" is a permanent rejection, "blocked" a temporary one.
_BOUNCE = {"bounce": "hard", "blocked": "soft"}


class SendGridItem(BaseModel):
    """One item of the batch; custom args (client_id, template, campaign) arrive as top-level fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event: str = Field(min_length=1)
    sg_event_id: str = Field(min_length=1)
    timestamp: int
    sg_message_id: str | None = None
    email: str | None = None
    url: str | None = None
    type: str | None = None
    category: str | list[str] | None = None
    client_id: str | None = None
    template: str | None = None
    campaign: str | None = None


def _public_key(text: str) -> PublicKey:
    text = text.strip()
    if "BEGIN PUBLIC KEY" not in text:
        text = f"-----BEGIN PUBLIC KEY-----\n{text}\n-----END PUBLIC KEY-----"
    return PublicKey.fromPem(text)


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str], now: datetime, tolerance: int) -> None:
    signature, stamp = p.header(headers, SIGNATURE_HEADER), p.header(headers, TIMESTAMP_HEADER)
    if not signature or not stamp:
        raise p.Refused(f"the {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} headers are required")
    try:
        timestamp = int(stamp)
        decoded = Signature.fromBase64(signature)
    except Exception:  # any malformed header is simply not a valid signature
        raise p.Refused("the signature headers are malformed") from None
    p.fresh(timestamp, now, tolerance)  # first: ECDSA verification is the expensive part
    message = stamp + body.decode("utf-8")
    for key in secrets:
        try:
            valid = Ecdsa.verify(message, decoded, _public_key(key))
        except Exception:
            valid = False
        if valid:
            return
    raise p.Refused("the ECDSA signature does not verify with the source's public key")


def check_secret(secret: str) -> str | None:
    try:
        _public_key(secret)
    except Exception:
        return "must be the Event Webhook verification key SendGrid shows (base64), or a PEM public key"
    return None


def _category(item: SendGridItem) -> str | None:
    value = item.category[0] if isinstance(item.category, list) and item.category else item.category
    return p.slug_or_none(value)


def _map(item: SendGridItem, out: p.Mapped, raw: Any) -> None:
    type_ = _TYPES.get(item.event)
    if type_ is None:
        out.ignored += 1
        return
    if not item.sg_message_id:
        out.rejected.append(
            p.Rejected(
                raw,
                [
                    deadletters.Reason(
                        loc=["sendgrid", "sg_message_id"],
                        type="missing",
                        msg=f"is required for a '{item.event}' event: the message it is about",
                    )
                ],
                p.ref("sendgrid", item.sg_event_id),
                type_,
            )
        )
        return
    fields: dict[str, Any] = {
        "message_id": p.ref_or_none(item.sg_message_id) or p.ref("sendgrid", item.sg_message_id),
        "template": p.slug_or_none(item.template),
        "campaign": p.slug_or_none(item.campaign) or _category(item),
        "recipient": item.email if item.email and "@" in item.email else None,
    }
    if type_ == "email.clicked" and item.url and item.url.startswith("http"):
        fields["url"] = item.url[:2048]
    if type_ == "email.bounced":
        fields["bounce_type"] = _BOUNCE.get(item.type or "", "unknown")
    out.events.append(
        p.event(
            p.ref("sendgrid", item.sg_event_id), type_, p.iso(item.timestamp), fields, p.ref_or_none(item.client_id)
        )
    )


def parse(body: str, headers: Mapping[str, str], source: p.Source) -> p.Mapped:
    document, bad = p.load_json(body, "sendgrid")
    if bad is not None:
        return p.Mapped(items=1, rejected=[bad])
    if not isinstance(document, list):
        return p.Mapped(
            items=1,
            rejected=[
                p.Rejected(
                    document,
                    [
                        deadletters.Reason(
                            loc=["sendgrid"],
                            type="list_type",
                            msg="the Event Webhook body must be a JSON array of events",
                        )
                    ],
                )
            ],
        )
    out = p.Mapped(items=len(document))
    for index, raw in enumerate(document):
        try:
            item = SendGridItem.model_validate(raw)
        except ValidationError as exc:
            rejected = p.rejected_from(exc, raw, "sendgrid")
            rejected.reasons = [r.model_copy(update={"loc": ["sendgrid", index, *r.loc[1:]]}) for r in rejected.reasons]
            out.rejected.append(rejected)
            continue
        _map(item, out, raw)
    return out


PROVIDER = p.Provider(
    name="sendgrid",
    headers=(),
    verify=verify,
    parse=parse,
    check_secret=check_secret,
    secret_label="SendGrid Event Webhook verification key",
)
