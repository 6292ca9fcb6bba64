"""Provider payloads shaped like each provider's documented examples, and signers that use the providers'
own libraries where they exist (stripe, standardwebhooks, starkbank-ecdsa) and the documented recipe otherwise."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from datetime import UTC, datetime
from typing import Any

import standardwebhooks
import stripe
from ellipticcurve import Ecdsa, PrivateKey
from ellipticcurve.curve import prime256v1

_n = itertools.count(1)

STRIPE_SECRET = "whsec_test_5d1c0ffee0ddba11"
SVIX_SECRET = "whsec_" + base64.b64encode(b"resend-test-secret-32-bytes-long").decode()


def _id(prefix: str) -> str:
    return f"{prefix}_{int(time.time())}{next(_n):06d}"


def body(document: Any) -> bytes:
    return json.dumps(document, indent=2).encode()  # providers pretty-print; signatures cover the exact bytes


# ----- Stripe -------------------------------------------------------------------------------------------------


def stripe_event(
    type_: str,
    obj: dict[str, Any],
    *,
    evt_id: str | None = None,
    created: int | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": evt_id or _id("evt"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": created or int(time.time()) - 60,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": _id("req"), "idempotency_key": None},
        "type": type_,
    }


def payment_intent(
    pi_id: str,
    amount: int,
    currency: str = "gbp",
    metadata: dict[str, str] | None = None,
    status: str = "succeeded",
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency,
        "created": int(time.time()) - 120,
        "customer": "cus_NffrFeUfNV2Hib",
        "invoice": None,
        "last_payment_error": error,
        "latest_charge": "ch_" + pi_id[3:],
        "livemode": False,
        "metadata": metadata or {},
        "payment_method_types": ["card"],
        "status": status,
    }


def checkout_session(
    cs_id: str,
    pi_id: str | None,
    amount: int,
    currency: str = "gbp",
    metadata: dict[str, str] | None = None,
    payment_status: str = "paid",
    mode: str = "payment",
    invoice: str | None = None,
) -> dict[str, Any]:
    return {
        "id": cs_id,
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "client_reference_id": None,
        "currency": currency,
        "customer": "cus_NffrFeUfNV2Hib",
        "invoice": invoice,
        "livemode": False,
        "metadata": metadata or {},
        "mode": mode,
        "payment_intent": pi_id,
        "payment_status": payment_status,
        "status": "complete",
    }


def invoice(
    in_id: str,
    amount_paid: int,
    currency: str = "gbp",
    pi_id: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "id": in_id,
        "object": "invoice",
        "amount_due": amount_paid,
        "amount_paid": amount_paid,
        "currency": currency,
        "customer": "cus_NffrFeUfNV2Hib",
        "metadata": metadata or {},
        "paid": True,
        "payment_intent": pi_id,
        "status": "paid",
    }


def charge(
    ch_id: str,
    pi_id: str,
    amount: int,
    refunds: list[tuple[str, int]] | None,
    amount_refunded: int | None = None,
    currency: str = "gbp",
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    refunded = amount_refunded if amount_refunded is not None else sum(a for _, a in refunds or [])
    obj: dict[str, Any] = {
        "id": ch_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "currency": currency,
        "metadata": metadata or {},
        "payment_intent": pi_id,
        "refunded": refunded == amount,
        "status": "succeeded",
    }
    if refunds is not None:
        obj["refunds"] = {
            "object": "list",
            "has_more": False,
            "url": f"/v1/charges/{ch_id}/refunds",
            "data": [
                {
                    "id": rid,
                    "object": "refund",
                    "amount": a,
                    "charge": ch_id,
                    "currency": currency,
                    "created": int(time.time()) - 30,
                    "payment_intent": pi_id,
                    "reason": "requested_by_customer",
                    "status": "succeeded",
                }
                for rid, a in refunds
            ],
        }
    return obj


def stripe_headers(raw: bytes, secret: str = STRIPE_SECRET, timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(raw.decode(), secret, timestamp=timestamp)
    return {"Stripe-Signature": header}


# ----- Resend (Svix / Standard Webhooks) ------------------------------------------------------------------------


def resend_event(type_: str, email_id: str = "4ef9a417-02e9-4d39-ad75-9611e0fcc33c", **extra: Any) -> dict[str, Any]:
    data = {
        "broadcast_id": None,
        "created_at": "2026-11-20 10:00:00.000000+00",
        "email_id": email_id,
        "from": "Rose & Thorn <hello@roseandthorn.example>",
        "to": ["ava@example.com"],
        "subject": "Your brochure",
        "tags": {"template": "brochure", "client_id": "c-7"},
        **extra,
    }
    return {"type": type_, "created_at": datetime.now(UTC).isoformat(), "data": data}


def svix_headers(
    raw: bytes, secret: str = SVIX_SECRET, msg_id: str | None = None, timestamp: datetime | None = None
) -> dict[str, str]:
    msg_id = msg_id or _id("msg")
    when = timestamp or datetime.now(UTC)
    signature = standardwebhooks.Webhook(secret).sign(msg_id, when, raw.decode())
    return {"svix-id": msg_id, "svix-timestamp": str(int(when.timestamp())), "svix-signature": signature}


# ----- SendGrid ---------------------------------------------------------------------------------------------------


def sendgrid_keys() -> tuple[PrivateKey, str]:
    """A P-256 key pair; the public key as SendGrid shows it (base64 of the DER SubjectPublicKeyInfo)."""
    private = PrivateKey(curve=prime256v1)
    return private, base64.b64encode(private.publicKey().toDer()).decode()


def sendgrid_item(event: str, **extra: Any) -> dict[str, Any]:
    item = {
        "email": "ava@example.com",
        "timestamp": int(time.time()) - 30,
        "smtp-id": "<14c5d75ce93.dfd@ismtpd-555>",
        "event": event,
        "category": ["Welcome Email"],
        "sg_event_id": _id("sg_event").replace("_", "-"),
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "client_id": "c-7",
    }
    item.update(extra)
    return item


def sendgrid_headers(raw: bytes, private: PrivateKey, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = Ecdsa.sign(stamp + raw.decode(), private).toBase64()
    return {"X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": stamp}


# ----- Postmark, Typeform, generic form (signed by hand, per their documentation) ------------------------------


def postmark_headers(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def typeform_response(
    token: str = "a3a12ec67a1365927098a606107fac15", form_id: str = "lT4Z3j", hidden: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "event_id": _id("01HTF"),
        "event_type": "form_response",
        "form_response": {
            "form_id": form_id,
            "token": token,
            "landed_at": "2026-11-20T09:58:00Z",
            "submitted_at": "2026-11-20T10:00:00Z",
            "hidden": hidden or {"lead_source": "instagram"},
            "definition": {
                "id": form_id,
                "title": "Wedding enquiry",
                "fields": [
                    {"id": "SMEUb7VJz92Q", "title": "Your email", "type": "email", "ref": "email"},
                    {"id": "JwWggjAKtOkA", "title": "Wedding date", "type": "date", "ref": "wedding_date"},
                    {"id": "pn48RmPazVdM", "title": "Guests", "type": "number", "ref": "guest_count"},
                ],
            },
            "answers": [
                {
                    "type": "email",
                    "email": "laura@example.com",
                    "field": {"id": "SMEUb7VJz92Q", "type": "email", "ref": "email"},
                },
                {
                    "type": "date",
                    "date": "2027-06-12",
                    "field": {"id": "JwWggjAKtOkA", "type": "date", "ref": "wedding_date"},
                },
                {
                    "type": "number",
                    "number": 120,
                    "field": {"id": "pn48RmPazVdM", "type": "number", "ref": "guest_count"},
                },
            ],
        },
    }


def typeform_headers(raw: bytes, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).digest()
    return {"Typeform-Signature": "sha256=" + base64.b64encode(digest).decode()}


def form_headers(raw: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {"X-WedSync-Timestamp": stamp, "X-WedSync-Signature": f"sha256={digest}"}
