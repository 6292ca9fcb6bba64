"""Payment events: money received, a failed attempt, a refund (partial refunds too).

One model per event type (its `data` and the envelope); `events.Event` is the union of every family."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.catalog import envelope


class PaymentData(envelope.Money):
    payment_id: envelope.Ref
    amount_minor: envelope.PositiveMinor
    kind: envelope.PaymentKind = "other"
    booking_id: envelope.Ref | None = None
    method: envelope.Slug | None = None


class PaymentSucceeded(envelope.EventBase):
    type: Literal["payment.succeeded"]
    data: PaymentData


class PaymentFailedData(PaymentData):
    failure_code: envelope.Slug | None = None


class PaymentFailed(envelope.EventBase):
    type: Literal["payment.failed"]
    data: PaymentFailedData


class PaymentRefundedData(envelope.Money):
    payment_id: envelope.Ref
    refund_id: envelope.Ref | None = None
    amount_minor: envelope.PositiveMinor = Field(description="The amount refunded by this refund (partial refunds too)")
    booking_id: envelope.Ref | None = None
    reason: envelope.Text | None = None


class PaymentRefunded(envelope.EventBase):
    type: Literal["payment.refunded"]
    data: PaymentRefundedData
