"""The money of a booking as it happens: card payments through Stripe (declines, Checkout, refunds listed the way
Stripe lists them) or bank transfers recorded in WedSync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.tools.demo import activity, recorder


@dataclass
class _Charge:
    """A successful card payment, kept so refunds can list the charge's refunds as Stripe does."""

    charge_id: str
    pi_id: str
    amount: int
    currency: str
    metadata: dict[str, str]
    refunds: list[dict[str, Any]] = field(default_factory=list)


class Payments(activity.Activity):
    """Payments and refunds, on top of the emails and notifications they trigger."""

    def pay(
        self,
        client: recorder.Client,
        booking_id: str,
        amount: int,
        currency: str,
        kind: str,
        due: datetime,
        meta: dict[str, str],
        checkout: bool = False,
    ) -> _Charge | None:
        """A payment made at `due`: by card through Stripe (sometimes declined first), or by bank transfer."""
        rng = self.rng
        if not client.pays_by_card:
            self.emit(
                "payment.succeeded",
                due,
                {
                    "payment_id": self.next_id("bt"),
                    "amount_minor": amount,
                    "currency": currency,
                    "kind": kind,
                    "booking_id": booking_id,
                    "method": "bank_transfer",
                },
                client.id,
            )
            self.notify("payment_received", "in_app", due + timedelta(minutes=1))
            return None
        pi_id, metadata = self.stripe_id("pi"), {**meta, "kind": kind}
        intent = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "currency": currency.lower(),
            "metadata": metadata,
            "payment_method_types": ["card"],
            "latest_charge": "ch_" + pi_id[3:],
        }
        paid_at = due
        if rng.random() < 0.06:
            code = rng.choice(["insufficient_funds", "generic_decline", "expired_card", "do_not_honor"])
            failed = {
                **intent,
                "amount_received": 0,
                "status": "requires_payment_method",
                "last_payment_error": {"code": "card_declined", "decline_code": code},
            }
            self.stripe_event("payment_intent.payment_failed", failed, due)
            self.notify("payment_failed", "email", due + timedelta(minutes=1), client_id=client.id)
            paid_at = due + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 6))
        succeeded = {**intent, "amount_received": amount, "status": "succeeded", "last_payment_error": None}
        if checkout:  # paid through a Checkout link: Stripe reports the session and the PaymentIntent
            session = {
                "id": self.stripe_id("cs"),
                "object": "checkout.session",
                "mode": "payment",
                "payment_status": "paid",
                "status": "complete",
                "payment_intent": pi_id,
                "amount_total": amount,
                "currency": currency.lower(),
                "metadata": metadata,
                "client_reference_id": client.id,
            }
            self.stripe_event("checkout.session.completed", session, paid_at)
        self.stripe_event("payment_intent.succeeded", succeeded, paid_at + timedelta(seconds=2))
        self.notify("payment_received", "in_app", paid_at + timedelta(minutes=1))
        return _Charge("ch_" + pi_id[3:], pi_id, amount, currency.lower(), metadata)

    def refund(
        self,
        client: recorder.Client,
        booking_id: str,
        charge: _Charge | None,
        amount: int,
        currency: str,
        at: datetime,
        reason: str,
    ) -> None:
        if charge is None:  # paid by bank transfer: the refund is recorded in WedSync
            self.emit(
                "payment.refunded",
                at,
                {
                    "payment_id": self.next_id("bt"),
                    "refund_id": self.next_id("rf"),
                    "amount_minor": amount,
                    "currency": currency,
                    "booking_id": booking_id,
                    "reason": reason,
                },
                client.id,
            )
            return
        charge.refunds.append(
            {
                "id": self.stripe_id("re"),
                "object": "refund",
                "amount": amount,
                "charge": charge.charge_id,
                "currency": charge.currency,
                "created": int(at.timestamp()),
                "payment_intent": charge.pi_id,
                "reason": "requested_by_customer",
                "status": "succeeded",
            }
        )
        refunded = sum(r["amount"] for r in charge.refunds)
        obj = {
            "id": charge.charge_id,
            "object": "charge",
            "amount": charge.amount,
            "amount_captured": charge.amount,
            "amount_refunded": refunded,
            "currency": charge.currency,
            "metadata": charge.metadata,
            "payment_intent": charge.pi_id,
            "refunded": refunded == charge.amount,
            "status": "succeeded",
            # every charge.refunded lists all refunds so far: the earlier ones again
            "refunds": {"object": "list", "has_more": False, "data": [dict(r) for r in charge.refunds]},
        }
        self.stripe_event("charge.refunded", obj, at)

    def stripe_event(self, type_: str, obj: dict[str, Any], at: datetime) -> None:
        evt_id = self.stripe_id("evt")
        self.deliver(
            "stripe",
            evt_id,
            at,
            {
                "id": evt_id,
                "object": "event",
                "api_version": "2024-06-20",
                "created": int(at.timestamp()),
                "data": {"object": obj},
                "livemode": False,
                "pending_webhooks": 1,
                "type": type_,
            },
        )
