"""Notification engine events: sent, delivered, failed, opened, clicked per channel.

One model per event type (its `data` and the envelope); `events.Event` is the union of every family."""

from __future__ import annotations

from typing import Literal

from shared.catalog import envelope


class NotificationData(envelope.Model):
    notification_id: envelope.Ref
    channel: envelope.NotificationChannel
    template: envelope.Slug | None = None


class NotificationFailedData(NotificationData):
    error_code: envelope.Slug | None = None


class NotificationSent(envelope.EventBase):
    type: Literal["notification.sent"]
    data: NotificationData


class NotificationDelivered(envelope.EventBase):
    type: Literal["notification.delivered"]
    data: NotificationData


class NotificationFailed(envelope.EventBase):
    type: Literal["notification.failed"]
    data: NotificationFailedData


class NotificationOpened(envelope.EventBase):
    type: Literal["notification.opened"]
    data: NotificationData


class NotificationClicked(envelope.EventBase):
    type: Literal["notification.clicked"]
    data: NotificationData
