"""Journey engine events: a client's run through an automated journey and its steps.

One model per event type (its `data` and the envelope); `events.Event` is the union of every family."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt

from shared.catalog import envelope


class JourneyData(envelope.Model):
    journey_id: envelope.Ref
    run_id: envelope.Ref = Field(description="One client's pass through the journey")
    journey_name: envelope.Text | None = None


class JourneyStepData(JourneyData):
    step_id: envelope.Ref
    step_name: envelope.Text | None = None


class JourneyEndData(JourneyData):
    duration_ms: Annotated[StrictInt, Field(ge=0)] | None = None


class JourneyStarted(envelope.EventBase):
    type: Literal["journey.started"]
    data: JourneyData


class JourneyStepCompleted(envelope.EventBase):
    type: Literal["journey.step_completed"]
    data: JourneyStepData


class JourneyCompleted(envelope.EventBase):
    type: Literal["journey.completed"]
    data: JourneyEndData


class JourneyAbandoned(envelope.EventBase):
    type: Literal["journey.abandoned"]
    data: JourneyEndData
