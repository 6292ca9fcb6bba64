"""Form events: a form on the business's site started and submitted.

One model per event type (its `data` and the envelope); `events.Event` is the union of every family."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from shared.catalog import envelope


class FormData(envelope.Model):
    form_id: envelope.Ref
    form_name: envelope.Text | None = None
    session_id: envelope.Ref | None = None
    is_inquiry: StrictBool = False
    lead_source: envelope.Slug | None = None


class FormStarted(envelope.EventBase):
    type: Literal["form.started"]
    data: FormData


class FormSubmitted(envelope.EventBase):
    type: Literal["form.submitted"]
    data: FormData
