"""Stripe: `Stripe-Signature` verification (through the `stripe` library) and payment event mapping.

Counting rule (docs/webhooks.md): a payment is keyed by its PaymentIntent id, `stripe:payment:<pi>`, whichever
Stripe event reports it (payment_intent.succeeded, checkout.session.completed, invoice.paid), so the same money
reported twice is one payment.succeeded. Where no PaymentIntent is named (subscription Checkout sessions and
invoices on API versions from 2025-03-31), the key is the invoice, `stripe:invoice:<in>`, shared by
checkout.session.completed and invoice.paid. Refunds are keyed by refund id: each refund counts once, with its
own amount, however many charge.refunded events list it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import stripe as stripe_lib
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core import deadletters
from shared.ingest import providers as p

SIGNATURE_HEADER = "Stripe-Signature"
_KINDS = {"deposit", "instalment", "balance", "other"}
_KIND_ALIASES = {"installment": "instalment", "final": "balance", "retainer": "deposit"}


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _EventData(_Read):
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class StripeEvent(_Read):
    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    created: int
    data: _EventData


class _PaymentError(_Read):
    code: str | None = None
    decline_code: str | None = None


class PaymentIntent(_Read):
    id: str = Field(min_length=1)
    amount: int
    amount_received: int | None = None
    currency: str
    metadata: dict[str, str] = Field(default_factory=dict)
    invoice: str | None = None
    last_payment_error: _PaymentError | None = None
    latest_charge: str | None = None


class CheckoutSession(_Read):
    id: str = Field(min_length=1)
    mode: str | None = None
    payment_status: str
    payment_intent: str | None = None
    invoice: str | None = None
    amount_total: int | None = None
    currency: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    client_reference_id: str | None = None


class Invoice(_Read):
    id: str = Field(min_length=1)
    amount_paid: int
    currency: str
    metadata: dict[str, str] = Field(default_factory=dict)
    payment_intent: str | None = None


class Refund(_Read):
    id: str = Field(min_length=1)
    amount: int
    currency: str | None = None
    created: int | None = None
    reason: str | None = None
    status: str | None = None


class _RefundList(_Read):
    data: list[Refund] = Field(default_factory=list)


class Charge(_Read):
    id: str = Field(min_length=1)
    payment_intent: str | None = None
    amount_refunded: int
    currency: str
    metadata: dict[str, str] = Field(default_factory=dict)
    refunds: _RefundList | None = None


# ----- verification ---------------------------------------------------------------------------------------------


def _timestamp(header_value: str) -> int:
    for item in header_value.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise p.Refused("the Stripe-Signature header has no valid t= timestamp")


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str], now: datetime, tolerance: int) -> None:
    """Valid when any v1 signature of the header matches any live secret (Stripe's and our rotation), fresh."""
    value = p.header(headers, SIGNATURE_HEADER)
    if not value:
        raise p.Refused("the Stripe-Signature header is missing")
    timestamp = _timestamp(value)
    for secret in secrets:
        try:
            # The library compares in constant time; freshness is checked below, both ways, against `now`.
            stripe_lib.WebhookSignature.verify_header(body, value, secret, tolerance=None)
        except stripe_lib.SignatureVerificationError:
            continue
        p.fresh(timestamp, now, tolerance)
        return
    raise p.Refused("no v1 signature of the Stripe-Signature header matches the source's signing secret")


def check_secret(secret: str) -> str | None:
    return None if secret.startswith("whsec_") and len(secret) > 6 else "must be a Stripe signing secret (whsec_...)"


# ----- mapping --------------------------------------------------------------------------------------------------


def _kind(metadata: Mapping[str, str]) -> str:
    value = (metadata.get("kind") or metadata.get("payment_kind") or "other").strip().lower()
    value = _KIND_ALIASES.get(value, value)
    return value if value in _KINDS else "other"


def _common(metadata: Mapping[str, str]) -> dict[str, Any]:
    return {"booking_id": p.ref_or_none(metadata.get("booking_id")), "kind": _kind(metadata)}


def _client(metadata: Mapping[str, str], fallback: str | None = None) -> str | None:
    return p.ref_or_none(metadata.get("client_id")) or p.ref_or_none(fallback)


def _succeeded(
    key: str,
    payment_id: str,
    amount: int,
    currency: str,
    metadata: Mapping[str, str],
    when: str,
    client_fallback: str | None = None,
) -> dict[str, Any]:
    return p.event(
        key,
        "payment.succeeded",
        when,
        {
            "payment_id": p.ref_or_none(payment_id) or p.ref("stripe", payment_id),
            "amount_minor": amount,
            "currency": currency.upper(),
            **_common(metadata),
        },
        _client(metadata, client_fallback),
    )


def _map(evt: StripeEvent, out: p.Mapped) -> None:
    when = p.iso(evt.created)
    obj = evt.data.object
    if evt.type == "payment_intent.succeeded":
        pi = PaymentIntent.model_validate(obj)
        out.events.append(
            _succeeded(
                p.ref("stripe", "payment", pi.id),
                pi.id,
                pi.amount_received or pi.amount,
                pi.currency,
                pi.metadata,
                when,
            )
        )
    elif evt.type == "payment_intent.payment_failed":
        pi = PaymentIntent.model_validate(obj)
        error = pi.last_payment_error
        code = p.slug_or_none(error.decline_code or error.code) if error else None
        out.events.append(
            p.event(
                p.ref("stripe", "failed", evt.id),
                "payment.failed",
                when,
                {
                    "payment_id": pi.id,
                    "amount_minor": pi.amount,
                    "currency": pi.currency.upper(),
                    "failure_code": code,
                    **_common(pi.metadata),
                },
                _client(pi.metadata),
            )
        )
    elif evt.type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        session = CheckoutSession.model_validate(obj)
        if session.payment_status != "paid" or session.amount_total is None or session.currency is None:
            out.ignored += 1  # unpaid (an async method still pending) or nothing to pay: no money yet
            return
        if session.payment_intent:
            key, payment_id = p.ref("stripe", "payment", session.payment_intent), session.payment_intent
        elif session.invoice:
            key, payment_id = p.ref("stripe", "invoice", session.invoice), session.invoice
        else:
            key, payment_id = p.ref("stripe", "checkout", session.id), session.id
        out.events.append(
            _succeeded(
                key,
                payment_id,
                session.amount_total,
                session.currency,
                session.metadata,
                when,
                session.client_reference_id,
            )
        )
    elif evt.type == "invoice.paid":
        invoice = Invoice.model_validate(obj)
        if invoice.amount_paid <= 0:
            out.ignored += 1  # a zero invoice (trial, fully credited) moves no money
            return
        if invoice.payment_intent:
            key, payment_id = p.ref("stripe", "payment", invoice.payment_intent), invoice.payment_intent
        else:
            key, payment_id = p.ref("stripe", "invoice", invoice.id), invoice.id
        out.events.append(_succeeded(key, payment_id, invoice.amount_paid, invoice.currency, invoice.metadata, when))
    elif evt.type == "charge.refunded":
        _refunds(evt, Charge.model_validate(obj), when, out)
    else:
        out.ignored += 1


def _refunds(evt: StripeEvent, charge: Charge, when: str, out: p.Mapped) -> None:
    payment_id = charge.payment_intent or charge.id
    base = {"payment_id": payment_id, "booking_id": p.ref_or_none(charge.metadata.get("booking_id"))}
    client = _client(charge.metadata)
    listed = [r for r in (charge.refunds.data if charge.refunds else []) if r.status in (None, "succeeded", "pending")]
    if listed:
        for refund in listed:
            out.events.append(
                p.event(
                    p.ref("stripe", "refund", refund.id),
                    "payment.refunded",
                    p.iso(refund.created) if refund.created else when,
                    {
                        **base,
                        "refund_id": refund.id,
                        "amount_minor": refund.amount,
                        "currency": (refund.currency or charge.currency).upper(),
                        "reason": refund.reason,
                    },
                    client,
                )
            )
        return
    # API versions from 2022-11-15 leave `refunds` out: the new refund is the growth of amount_refunded.
    previous = (evt.data.previous_attributes or {}).get("amount_refunded", 0)
    amount = charge.amount_refunded - (previous if isinstance(previous, int) else 0)
    if amount <= 0:
        out.ignored += 1
        return
    out.events.append(
        p.event(
            p.ref("stripe", "refund", charge.id, charge.amount_refunded),
            "payment.refunded",
            when,
            {**base, "amount_minor": amount, "currency": charge.currency.upper()},
            client,
        )
    )


def parse(body: str, headers: Mapping[str, str], source: p.Source) -> p.Mapped:
    out = p.Mapped(items=1)
    document, bad = p.load_json(body, "stripe")
    if bad is not None:
        out.rejected.append(bad)
        return out
    try:
        evt = StripeEvent.model_validate(document)
    except ValidationError as exc:
        out.rejected.append(p.rejected_from(exc, document, "stripe"))
        return out
    try:
        _map(evt, out)
    except ValidationError as exc:
        reasons = [
            deadletters.Reason(loc=["stripe", "data", "object", *r.loc], msg=r.msg, type=r.type)
            for r in deadletters.reasons_from(exc)
        ]
        out.rejected.append(p.Rejected(document, reasons, p.ref("stripe", "evt", evt.id), evt.type))
    return out


PROVIDER = p.Provider(
    name="stripe",
    headers=(),
    verify=verify,
    parse=parse,
    check_secret=check_secret,
    secret_label="Stripe endpoint signing secret (whsec_...)",
)
