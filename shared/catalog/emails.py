"""Email events: sent, delivered, opened, clicked, bounced, complained, replied.

One model per event type (its `data` and the envelope); `events.Event` is the union of every family."""

from __future__ import annotations

from typing import Literal

from shared.catalog import envelope


class EmailData(envelope.Model):
    message_id: envelope.Ref
    template: envelope.Slug | None = None
    campaign: envelope.Slug | None = None
    recipient: envelope.Email | None = None


class EmailClickedData(EmailData):
    url: envelope.Url | None = None


class EmailBouncedData(EmailData):
    bounce_type: Literal["hard", "soft", "unknown"] = "unknown"


class EmailSent(envelope.EventBase):
    type: Literal["email.sent"]
    data: EmailData


class EmailDelivered(envelope.EventBase):
    type: Literal["email.delivered"]
    data: EmailData


class EmailOpened(envelope.EventBase):
    type: Literal["email.opened"]
    data: EmailData


class EmailClicked(envelope.EventBase):
    type: Literal["email.clicked"]
    data: EmailClickedData


class EmailBounced(envelope.EventBase):
    type: Literal["email.bounced"]
    data: EmailBouncedData


class EmailComplained(envelope.EventBase):
    type: Literal["email.complained"]
    data: EmailData


class EmailReplied(envelope.EventBase):
    type: Literal["email.replied"]
    data: EmailData
