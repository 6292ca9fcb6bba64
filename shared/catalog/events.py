"""The event catalog: one pydantic model per event type the pipeline accepts, the contract with every sender.

Every event has an `event_id` chosen by the sender (the idempotency key), a `type`, a `schema_version` and an
`occurred_at`. Type-specific fields live under `data`. Unknown fields are refused, money is integer minor units
with an ISO 4217 currency, and personal data is accepted only in the fields that are pseudonymised on arrival.

The envelope and the field types live in `envelope`, one module per event family holds its models (`clients`,
`payments`, `forms`, `emails`, `reviews`, `journeys`, `notifications`, `app`); this module joins them into the
one `Event` union and checks events against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    Discriminator,
    TypeAdapter,
    ValidationError,
)

from shared.catalog import app, clients, emails, forms, journeys, notifications, payments, reviews

Event = Annotated[
    clients.ClientCreated
    | clients.InquiryReceived
    | clients.BookingConfirmed
    | clients.BookingCancelled
    | payments.PaymentSucceeded
    | payments.PaymentFailed
    | payments.PaymentRefunded
    | forms.FormStarted
    | forms.FormSubmitted
    | emails.EmailSent
    | emails.EmailDelivered
    | emails.EmailOpened
    | emails.EmailClicked
    | emails.EmailBounced
    | emails.EmailComplained
    | emails.EmailReplied
    | reviews.ReviewReceived
    | journeys.JourneyStarted
    | journeys.JourneyStepCompleted
    | journeys.JourneyCompleted
    | journeys.JourneyAbandoned
    | notifications.NotificationSent
    | notifications.NotificationDelivered
    | notifications.NotificationFailed
    | notifications.NotificationOpened
    | notifications.NotificationClicked
    | app.AppAction,
    Discriminator("type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES: tuple[str, ...] = tuple(
    model.model_fields["type"].annotation.__args__[0]
    for model in Event.__origin__.__args__  # type: ignore[attr-defined]
)


EVENTS_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


@dataclass(frozen=True)
class Checked:
    """The outcome of checking a batch: the good events as JSON-ready dicts and the errors per position."""

    accepted: list[tuple[int, dict[str, Any]]]
    rejected: list[tuple[int, ValidationError]]


def _context(
    tz: ZoneInfo | None, now: datetime | None, max_future_skew: timedelta | None, pii_key: bytes | None
) -> dict[str, Any]:
    return {"tz": tz, "now": now, "max_future_skew": max_future_skew, "pii_key": pii_key}


def validate(
    raw: Any,
    *,
    tz: ZoneInfo | None = None,
    now: datetime | None = None,
    max_future_skew: timedelta | None = None,
    pii_key: bytes | None = None,
) -> Event:
    """Check one raw event against the catalog; raises pydantic.ValidationError listing every problem.

    With `pii_key`, emails and phone numbers come back as keyed pseudonyms (never in clear).
    """
    return EVENT_ADAPTER.validate_python(raw, context=_context(tz, now, max_future_skew, pii_key))


def check_batch(
    raws: list[Any],
    *,
    tz: ZoneInfo | None = None,
    now: datetime | None = None,
    max_future_skew: timedelta | None = None,
    pii_key: bytes | None = None,
) -> Checked:
    """Check many events at once. The whole batch is validated and dumped in one pass through
    pydantic-core; only when something is wrong is it checked event by event to place the errors."""
    context = _context(tz, now, max_future_skew, pii_key)
    try:
        models = EVENTS_ADAPTER.validate_python(raws, context=context)
    except ValidationError:
        accepted: list[tuple[int, dict[str, Any]]] = []
        rejected: list[tuple[int, ValidationError]] = []
        for index, raw in enumerate(raws):
            try:
                model = EVENT_ADAPTER.validate_python(raw, context=context)
            except ValidationError as exc:
                rejected.append((index, exc))
                continue
            accepted.append((index, EVENT_ADAPTER.dump_python(model, mode="json", exclude_none=True)))
        return Checked(accepted, rejected)
    dumped = EVENTS_ADAPTER.dump_python(models, mode="json", exclude_none=True)
    return Checked(list(enumerate(dumped)), [])


def json_schema() -> dict[str, Any]:
    """The catalog as JSON Schema (draft 2020-12), for senders who validate before sending."""
    schema = EVENT_ADAPTER.json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://wedsync.app/schemas/analytics-events.schema.json"
    schema["title"] = "WedSync Analytics event"
    return schema
