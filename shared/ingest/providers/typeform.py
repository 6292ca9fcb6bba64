"""Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>` and form response mapping.

The secret is one we generate and paste into Typeform's webhook settings. Typeform sends no timestamp, so a
replayed delivery is stopped by idempotency: the event ids derive from the response token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.catalog import privacy
from shared.ingest import providers as p
from shared.ingest import settings as ingest_settings

SIGNATURE_HEADER = "Typeform-Signature"


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _FieldRef(_Read):
    id: str | None = None
    ref: str | None = None


class _Answer(_Read):
    type: str
    field: _FieldRef = _FieldRef()
    email: str | None = None
    phone_number: str | None = None
    date: dt.date | None = None
    number: int | float | None = None


class _Definition(_Read):
    title: str | None = None


class _Response(_Read):
    form_id: str = Field(min_length=1)
    token: str = Field(min_length=1)
    submitted_at: datetime
    hidden: dict[str, str | None] = Field(default_factory=dict)
    definition: _Definition | None = None
    answers: list[_Answer] = Field(default_factory=list)


class TypeformDelivery(_Read):
    event_id: str | None = None
    event_type: str
    form_response: dict[str, Any] | None = None


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str], now: datetime, tolerance: int) -> None:
    offered = p.header(headers, SIGNATURE_HEADER)
    if not offered:
        raise p.Refused("the Typeform-Signature header is missing")
    if not any(hmac.compare_digest(offered.strip().encode(), signature(body, s).encode()) for s in secrets):
        raise p.Refused("the Typeform-Signature does not match the source's secret")


def _answer(response: _Response, kind: str, ref: str | None = None) -> _Answer | None:
    for answer in response.answers:
        if ref is not None and answer.field.ref == ref:
            return answer
    if ref is not None:
        return None
    return next((a for a in response.answers if a.type == kind), None)


def parse(body: str, headers: Mapping[str, str], source: p.Source) -> p.Mapped:
    out = p.Mapped(items=1)
    document, bad = p.load_json(body, "typeform")
    if bad is not None:
        out.rejected.append(bad)
        return out
    try:
        delivery = TypeformDelivery.model_validate(document)
        if delivery.event_type != "form_response" or delivery.form_response is None:
            out.ignored += 1
            return out
        response = _Response.model_validate(delivery.form_response)
    except ValidationError as exc:
        out.rejected.append(p.rejected_from(exc, document, "typeform"))
        return out
    email, phone = _answer(response, "email"), _answer(response, "phone_number")
    wedding, guests = _answer(response, "date", "wedding_date"), _answer(response, "number", "guest_count")
    hidden = {k: v for k, v in response.hidden.items() if v}
    # Without a client id the respondent's email identifies the client: as its pseudonym, since identifiers
    # never carry personal data in clear.
    key = ingest_settings.get().pii_hash_key.get_secret_value().encode()
    client = p.ref_or_none(hidden.get("client_id")) or (
        privacy.pseudonym(email.email, key) if email and email.email else None
    )
    inquiry = {
        "email": email.email if email else None,
        "phone": phone.phone_number if phone else None,
        "wedding_date": wedding.date.isoformat() if wedding and wedding.date else None,
        "guest_count": int(guests.number) if guests and guests.number is not None else None,
    }
    out.events.extend(
        p.form_events(
            "typeform",
            response.token,
            source,
            form_id=response.form_id,
            form_name=response.definition.title if response.definition else None,
            when=p.iso(response.submitted_at),
            client_id=client,
            is_inquiry=source.is_inquiry_form(response.form_id),
            lead_source=hidden.get("lead_source") or hidden.get("utm_source"),
            inquiry=inquiry,
        )
    )
    return out


PROVIDER = p.Provider(
    name="typeform",
    headers=(),
    verify=verify,
    parse=parse,
    generate_secret=p.hmac_secret,
    check_secret=p.check_hmac_secret,
    secret_label="Typeform webhook secret",
)
