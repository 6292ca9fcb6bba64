"""The envelope every event shares and the field types its `data` models are built from.

The rules here hold for every event, so each family module only declares its own fields.

Every event has an `event_id` chosen by the sender (the idempotency key), a `type`, a `schema_version` and an
`occurred_at`. Type-specific fields live under `data`. Unknown fields are refused, money is integer minor units
with an ISO 4217 currency, and personal data is accepted only in the fields that are pseudonymised on arrival.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
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
_DEFAULT_SKEW = timedelta(minutes=10)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,24}$")
# RFC 3339 date-time; the offset may be left out, and then the organization's time zone applies.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})?$")


# A slug that is already in its normal form (most are): nothing to rewrite.
_NORMAL_SLUG = re.compile(r"[a-z0-9][a-z0-9_.]{0,63}")
_SEPARATORS = re.compile(r"[\s-]+")


def _slug(value: str) -> str:
    if _NORMAL_SLUG.fullmatch(value):
        return value
    normalised = _SEPARATORS.sub("_", value.strip().lower())
    if not _SLUG.match(normalised):
        raise ValueError("must be a short name: letters, digits, '_', '.', '-' (1 to 64 characters)")
    return normalised


def _currency(value: str) -> str:
    code = value.strip().upper()
    if not currencies.is_known(code):
        raise ValueError("must be an ISO 4217 currency code in circulation, such as EUR, GBP, USD or JPY")
    return code


def _email(value: str) -> str:
    if privacy.PSEUDONYM.match(value) or _EMAIL.fullmatch(value):
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


def _no_personal_data(value: str, info: ValidationInfo) -> str:
    """Free text and identifiers never carry personal data: an email address or phone number there is refused."""
    found = privacy.find(value, privacy.regions_for((info.context or {}).get("tz")))
    if found:
        raise ValueError(
            f"must not hold personal data ({found} found): send it in an email, phone or recipient field, "
            "where it is pseudonymised, or leave it out"
        )
    return value


def _no_email(value: str) -> str:
    """Identifiers are often long digit strings, so only email addresses are looked for in them."""
    if "@" in value and privacy.find(value, (), phones=False):
        raise ValueError("must not hold personal data (an email address found): use an opaque id")
    return value


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value  # built in code (a webhook's mapping), not read from JSON
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError(
            "must be an RFC 3339 date-time string such as 2026-06-12T14:30:00+01:00 (or without the offset, "
            "read in the organization's time zone); numbers and dates without a time are refused"
        )
    return value


# One policy for personal data outside its own fields: refused, naming the field (see docs/pipeline.md).
Ref = Annotated[
    StrictStr,
    Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$"),
    AfterValidator(_no_email),
]
Slug = Annotated[StrictStr, AfterValidator(_slug)]
Text = Annotated[StrictStr, Field(max_length=500), AfterValidator(_no_personal_data)]
Currency = Annotated[StrictStr, AfterValidator(_currency)]
PositiveMinor = Annotated[StrictInt, Field(gt=0, le=10**13, description="Integer minor units (cents), never floats")]
NonNegativeMinor = Annotated[StrictInt, Field(ge=0, le=10**13, description="Integer minor units (cents)")]
Email = Annotated[StrictStr, Field(max_length=320), AfterValidator(_email), AfterValidator(_pseudonymise)]
Phone = Annotated[StrictStr, Field(max_length=40), AfterValidator(_phone), AfterValidator(_pseudonymise)]
Url = Annotated[StrictStr, Field(max_length=2048, pattern=r"^https?://"), AfterValidator(_no_personal_data)]

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
    occurred_at: Annotated[datetime, BeforeValidator(_rfc3339)] = Field(
        description="When it happened: an RFC 3339 date-time. Without an offset it is read in the organization's "
        "time zone; a time that zone skips (a DST gap) is refused, one it repeats (a DST fold) is the first"
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
            local = value
            value = value.replace(tzinfo=tz, fold=0)  # in a DST fold, the first (earlier) of the two readings
            if value.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local:
                raise ValueError(f"is a local time that {tz} skips (a DST gap): send it with its UTC offset")
        # Compared in UTC: comparing a datetime parsed with an offset (pydantic's own tzinfo) with a UTC one asks
        # that tzinfo for its offset each time, several times the cost of the whole conversion.
        value = value.astimezone(UTC)
        now: datetime = context.get("now") or datetime.now(UTC)
        skew: timedelta = context.get("max_future_skew") or _DEFAULT_SKEW
        if value > now + skew:
            raise ValueError(f"must not be more than {int(skew.total_seconds())} seconds in the future")
        if value < _EARLIEST:
            raise ValueError("must be on or after 2000-01-01")
        return value
