"""Client lifecycle events: a client is created, inquires, books, cancels.

One model per event type (its `data` and the envelope); `events.Event` is the union of every family."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StrictInt

from shared.catalog import envelope


class ClientCreatedData(envelope.Model):
    lead_source: envelope.Slug | None = None
    email: envelope.Email | None = None
    phone: envelope.Phone | None = None


class ClientCreated(envelope.EventBase):
    type: Literal["client.created"]
    client_id: envelope.Ref
    data: ClientCreatedData = ClientCreatedData()


class InquiryReceivedData(envelope.Model):
    inquiry_id: envelope.Ref | None = None
    lead_source: envelope.Slug = Field(
        description="Where the lead came from: instagram, google, the_knot, referral ..."
    )
    channel: envelope.Channel = "web_form"
    wedding_date: date | None = None
    guest_count: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None
    budget_minor: envelope.NonNegativeMinor | None = None
    currency: envelope.Currency | None = None
    email: envelope.Email | None = None
    phone: envelope.Phone | None = None


class InquiryReceived(envelope.EventBase):
    type: Literal["inquiry.received"]
    client_id: envelope.Ref
    data: InquiryReceivedData


class BookingConfirmedData(envelope.Money):
    booking_id: envelope.Ref
    package: envelope.Slug
    value_minor: envelope.NonNegativeMinor
    wedding_date: date
    inquiry_id: envelope.Ref | None = None
    lead_source: envelope.Slug | None = None


class BookingConfirmed(envelope.EventBase):
    type: Literal["booking.confirmed"]
    client_id: envelope.Ref
    data: BookingConfirmedData


class BookingCancelledData(envelope.Model):
    booking_id: envelope.Ref
    reason: envelope.Text | None = None


class BookingCancelled(envelope.EventBase):
    type: Literal["booking.cancelled"]
    data: BookingCancelledData
