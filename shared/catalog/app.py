"""App events: what the team members (not the clients) do in the WedSync app.

One model per event type (its `data` and the envelope); `events.Event` is the union of every family."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.catalog import envelope


class AppActionData(envelope.Model):
    user_id: envelope.Ref = Field(description="The team member (not the client) who acted")
    action: envelope.Slug
    screen: envelope.Slug | None = None


class AppAction(envelope.EventBase):
    type: Literal["app.action"]
    data: AppActionData
