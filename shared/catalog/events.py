"""The event catalog: one pydantic model per event type the pipeline accepts, the contract with every sender.

Every event has an `event_id` chosen by the sender (the idempotency key), a `type`, a `schema_version` and an
`occurred_at`. Type-specific fields live under `data`. Unknown fields are refused, money is integer minor units
with an ISO 4217 currency, and personal data is accepted only in the fields that are pseudonymised on arrival.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.catalog import currencies, privacy

SCHEMA_VERSION: Literal[1] = 1
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,24}$")


def _slug(value: str) -> str:
    normalised = re.sub(r"[\s-]+", "_", value.strip().lower())
    if not _SLUG.match(normalised):
        raise ValueError("must be a short name: letters, digits, '_', '.', '-' (1 to 64 characters)")
    return normalised


def _currency(value: str) -> str:
    code = value.strip().upper()
    if not currencies.is_known(code):
        raise ValueError("must be an ISO 4217 currency code in circulation, such as EUR, GBP, USD or JPY")
    return code


def _email(value: str) -> str:
    if privacy.PSEUDONYM.match(value) or re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        return value
    raise ValueError("must be an email address")


def _phone(value: str) -> str:
    if privacy.PSEUDONYM.match(value) or _PHONE.match(value):
        return value
    raise ValueError("must be a phone number (digits, spaces, +, -, parentheses)")


def _pseudonymise(value: str, info: ValidationInfo) -> str:
    """Personal data fields leave validation as keyed pseudonyms whenever a key is in the context."""
    key: bytes | None = (info.context or {}).get("pii_key")
    return privacy.pseudonym(value, key) if key else value


def _redact(value: str, info: ValidationInfo) -> str:
    """Free text may hold an email address; it leaves validation pseudonymised too."""
    key: bytes | None = (info.context or {}).get("pii_key")
    return privacy.scrub(value, key) if key and "@" in value else value


# Every free string passes through _redact: an email address used as an id or left in a URL is personal data too.
Ref = Annotated[
    StrictStr, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$"), AfterValidator(_redact)
]
Slug = Annotated[StrictStr, AfterValidator(_slug)]
Text = Annotated[StrictStr, Field(max_length=500), AfterValidator(_redact)]
Currency = Annotated[StrictStr, AfterValidator(_currency)]
PositiveMinor = Annotated[StrictInt, Field(gt=0, le=10**13, description="Integer minor units (cents), never floats")]
NonNegativeMinor = Annotated[StrictInt, Field(ge=0, le=10**13, description="Integer minor units (cents)")]
Email = Annotated[StrictStr, Field(max_length=320), AfterValidator(_email), AfterValidator(_pseudonymise)]
Phone = Annotated[StrictStr, Field(max_length=40), AfterValidator(_phone), AfterValidator(_pseudonymise)]
Url = Annotated[StrictStr, Field(max_length=2048, pattern=r"^https?://"), AfterValidator(_redact)]

Channel = Literal["web_form", "email", "phone", "social", "marketplace", "referral", "walk_in", "other"]
PaymentKind = Literal["deposit", "instalment", "balance", "other"]
NotificationChannel = Literal["email", "sms", "push", "in_app"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Money(_Model):
    currency: Currency | None = Field(default=None, description="ISO 4217; the organization's currency if omitted")


class EventBase(_Model):
    """Fields every event has."""

    event_id: Ref = Field(description="Unique per organization; a resend with the same id is a duplicate")
    schema_version: Literal[1] = SCHEMA_VERSION
    occurred_at: datetime = Field(
        description="When it happened. ISO 8601; without an offset it is read in the organization's time zone"
    )
    client_id: Ref | None = Field(default=None, description="The sender's id of the wedding client")

    @field_validator("occurred_at")
    @classmethod
    def _in_range(cls, value: datetime, info: ValidationInfo) -> datetime:
        context = info.context or {}
        if value.tzinfo is None:
            tz = context.get("tz")
            if tz is None:
                return value  # localised later, once the organization's zone is known
            value = value.replace(tzinfo=tz)
        now: datetime = context.get("now") or datetime.now(UTC)
        skew: timedelta = context.get("max_future_skew") or timedelta(minutes=10)
        if value > now + skew:
            raise ValueError(f"must not be more than {int(skew.total_seconds())} seconds in the future")
        if value < _EARLIEST:
            raise ValueError("must be on or after 2000-01-01")
        return value.astimezone(UTC)


# ----- client lifecycle -------------------------------------------------------------------------------------


class ClientCreatedData(_Model):
    lead_source: Slug | None = None
    email: Email | None = None
    phone: Phone | None = None


class ClientCreated(EventBase):
    type: Literal["client.created"]
    client_id: Ref
    data: ClientCreatedData = ClientCreatedData()


class InquiryReceivedData(_Model):
    inquiry_id: Ref | None = None
    lead_source: Slug = Field(description="Where the lead came from: instagram, google, the_knot, referral ...")
    channel: Channel = "web_form"
    wedding_date: date | None = None
    guest_count: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None
    budget_minor: NonNegativeMinor | None = None
    currency: Currency | None = None
    email: Email | None = None
    phone: Phone | None = None


class InquiryReceived(EventBase):
    type: Literal["inquiry.received"]
    client_id: Ref
    data: InquiryReceivedData


class BookingConfirmedData(_Money):
    booking_id: Ref
    package: Slug
    value_minor: NonNegativeMinor
    wedding_date: date
    inquiry_id: Ref | None = None
    lead_source: Slug | None = None


class BookingConfirmed(EventBase):
    type: Literal["booking.confirmed"]
    client_id: Ref
    data: BookingConfirmedData


class BookingCancelledData(_Model):
    booking_id: Ref
    reason: Text | None = None


class BookingCancelled(EventBase):
    type: Literal["booking.cancelled"]
    data: BookingCancelledData


# ----- payments -------------------------------------------------------------------------------------------------


class PaymentData(_Money):
    payment_id: Ref
    amount_minor: PositiveMinor
    kind: PaymentKind = "other"
    booking_id: Ref | None = None
    method: Slug | None = None


class PaymentSucceeded(EventBase):
    type: Literal["payment.succeeded"]
    data: PaymentData


class PaymentFailedData(PaymentData):
    failure_code: Slug | None = None


class PaymentFailed(EventBase):
    type: Literal["payment.failed"]
    data: PaymentFailedData


class PaymentRefundedData(_Money):
    payment_id: Ref
    refund_id: Ref | None = None
    amount_minor: PositiveMinor = Field(description="The amount refunded by this refund (partial refunds too)")
    booking_id: Ref | None = None
    reason: Text | None = None


class PaymentRefunded(EventBase):
    type: Literal["payment.refunded"]
    data: PaymentRefundedData


# ----- forms ----------------------------------------------------------------------------------------------------


class FormData(_Model):
    form_id: Ref
    form_name: Text | None = None
    session_id: Ref | None = None
    is_inquiry: StrictBool = False
    lead_source: Slug | None = None


class FormStarted(EventBase):
    type: Literal["form.started"]
    data: FormData


class FormSubmitted(EventBase):
    type: Literal["form.submitted"]
    data: FormData


# ----- email ----------------------------------------------------------------------------------------------------


class EmailData(_Model):
    message_id: Ref
    template: Slug | None = None
    campaign: Slug | None = None
    recipient: Email | None = None


class EmailClickedData(EmailData):
    url: Url | None = None


class EmailBouncedData(EmailData):
    bounce_type: Literal["hard", "soft", "unknown"] = "unknown"


class EmailSent(EventBase):
    type: Literal["email.sent"]
    data: EmailData


class EmailDelivered(EventBase):
    type: Literal["email.delivered"]
    data: EmailData


class EmailOpened(EventBase):
    type: Literal["email.opened"]
    data: EmailData


class EmailClicked(EventBase):
    type: Literal["email.clicked"]
    data: EmailClickedData


class EmailBounced(EventBase):
    type: Literal["email.bounced"]
    data: EmailBouncedData


class EmailComplained(EventBase):
    type: Literal["email.complained"]
    data: EmailData


class EmailReplied(EventBase):
    type: Literal["email.replied"]
    data: EmailData


# ----- reviews --------------------------------------------------------------------------------------------------


class ReviewData(_Model):
    review_id: Ref
    rating: Annotated[StrictInt, Field(ge=1, le=5)] | None = None
    nps: Annotated[StrictInt, Field(ge=0, le=10)] | None = None
    platform: Slug | None = None
    booking_id: Ref | None = None

    @model_validator(mode="after")
    def _has_a_score(self) -> ReviewData:
        if self.rating is None and self.nps is None:
            raise ValueError("a review needs a rating (1 to 5), an nps score (0 to 10), or both")
        return self


class ReviewReceived(EventBase):
    type: Literal["review.received"]
    data: ReviewData


# ----- journey engine -------------------------------------------------------------------------------------------


class JourneyData(_Model):
    journey_id: Ref
    run_id: Ref = Field(description="One client's pass through the journey")
    journey_name: Text | None = None


class JourneyStepData(JourneyData):
    step_id: Ref
    step_name: Text | None = None


class JourneyEndData(JourneyData):
    duration_ms: Annotated[StrictInt, Field(ge=0)] | None = None


class JourneyStarted(EventBase):
    type: Literal["journey.started"]
    data: JourneyData


class JourneyStepCompleted(EventBase):
    type: Literal["journey.step_completed"]
    data: JourneyStepData


class JourneyCompleted(EventBase):
    type: Literal["journey.completed"]
    data: JourneyEndData


class JourneyAbandoned(EventBase):
    type: Literal["journey.abandoned"]
    data: JourneyEndData


# ----- notification engine --------------------------------------------------------------------------------------


class NotificationData(_Model):
    notification_id: Ref
    channel: NotificationChannel
    template: Slug | None = None


class NotificationFailedData(NotificationData):
    error_code: Slug | None = None


class NotificationSent(EventBase):
    type: Literal["notification.sent"]
    data: NotificationData


class NotificationDelivered(EventBase):
    type: Literal["notification.delivered"]
    data: NotificationData


class NotificationFailed(EventBase):
    type: Literal["notification.failed"]
    data: NotificationFailedData


class NotificationOpened(EventBase):
    type: Literal["notification.opened"]
    data: NotificationData


class NotificationClicked(EventBase):
    type: Literal["notification.clicked"]
    data: NotificationData


# ----- the app --------------------------------------------------------------------------------------------------


class AppActionData(_Model):
    user_id: Ref = Field(description="The team member (not the client) who acted")
    action: Slug
    screen: Slug | None = None


class AppAction(EventBase):
    type: Literal["app.action"]
    data: AppActionData


Event = Annotated[
    ClientCreated
    | InquiryReceived
    | BookingConfirmed
    | BookingCancelled
    | PaymentSucceeded
    | PaymentFailed
    | PaymentRefunded
    | FormStarted
    | FormSubmitted
    | EmailSent
    | EmailDelivered
    | EmailOpened
    | EmailClicked
    | EmailBounced
    | EmailComplained
    | EmailReplied
    | ReviewReceived
    | JourneyStarted
    | JourneyStepCompleted
    | JourneyCompleted
    | JourneyAbandoned
    | NotificationSent
    | NotificationDelivered
    | NotificationFailed
    | NotificationOpened
    | NotificationClicked
    | AppAction,
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
