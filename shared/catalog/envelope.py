"""The envelope every event shares and the field types its `data` models are built from.

The rules here hold for every event, so each family module only declares its own fields.

Every event has an `event_id` chosen by the sender (the idempotency key), a `type`, a `schema_version` and an
`occurred_at`. Type-specific fields live under `data`. Unknown fields are refused, money is integer minor units
with an ISO 4217 currency, and personal data is accepted only in the fields that are pseudonymised on arrival.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
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


class Model(BaseModel):
    """The base of every catalog model: unknown fields are refused and a checked event cannot change."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Money(Model):
    """A `data` model that carries money: the currency its minor units are in."""

    currency: Currency | None = Field(default=None, description="ISO 4217; the organization's currency if omitted")


class EventBase(Model):
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
