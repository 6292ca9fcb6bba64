"""Review events: a star rating and/or an NPS score after the wedding.

One model per event type (its `data` and the envelope); `events.Event` is the union of every family."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, model_validator

from shared.catalog import envelope


class ReviewData(envelope.Model):
    review_id: envelope.Ref
    rating: Annotated[StrictInt, Field(ge=1, le=5)] | None = None
    nps: Annotated[StrictInt, Field(ge=0, le=10)] | None = None
    platform: envelope.Slug | None = None
    booking_id: envelope.Ref | None = None

    @model_validator(mode="after")
    def _has_a_score(self) -> ReviewData:
        if self.rating is None and self.nps is None:
            raise ValueError("a review needs a rating (1 to 5), an nps score (0 to 10), or both")
        return self


class ReviewReceived(envelope.EventBase):
    type: Literal["review.received"]
    data: ReviewData
