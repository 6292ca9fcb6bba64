"""Organizations (the wedding businesses): creation with validated zone and currency."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psycopg import Connection
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.catalog import currencies
from shared.core import apikeys, db, errors


def _currency_code(value: str) -> str:
    code = value.strip().upper()
    if not currencies.is_known(code):
        raise ValueError("must be an ISO 4217 currency code in circulation, such as GBP, EUR or USD")
    return code


class NewOrganization(BaseModel):
    """What `org create` takes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(description="IANA time zone, such as Europe/London or Asia/Kathmandu")
    currency: str = Field(description="Default ISO 4217 currency, such as GBP")
    home_currency: str | None = Field(
        None,
        description="The currency money metrics are also totalled in (ECB rates); default: `currency`",
    )
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name, such as Europe/London or America/New_York") from None
        return value

    @field_validator("currency", "home_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else _currency_code(value)


class CreatedOrganization(BaseModel):
    id: UUID
    name: str
    timezone: str
    currency: str
    home_currency: str
    ingest_key: str
    read_key: str


def set_home_currency(conn: Connection[Any], org_id: UUID, code: str) -> None:
    """Make `code` the organization's home currency; NotFound when there is no such organization."""
    try:
        checked = _currency_code(code)
    except ValueError as exc:
        raise errors.InvalidInput(f"home currency {code!r} {exc}") from None
    if db.fetch_scalar(conn, "set_home_currency", {"id": org_id, "home_currency": checked}) is None:
        raise errors.NotFound(f"organization {org_id} does not exist")


def create(conn: Connection[Any], new: NewOrganization) -> CreatedOrganization:
    """Create the organization with an ingest key and a read key, in the caller's transaction."""
    org_id: UUID | None = db.fetch_scalar(
        conn,
        "create_organization",
        {
            "name": new.name,
            "timezone": new.timezone,
            "currency": new.currency,
            "home_currency": new.home_currency,
            "settings": json.dumps(new.settings),
        },
    )
    assert org_id is not None
    ingest = apikeys.create(conn, org_id, ["ingest"], name="ingest")
    read = apikeys.create(conn, org_id, ["read"], name="read")
    return CreatedOrganization(
        id=org_id,
        name=new.name,
        timezone=new.timezone,
        currency=new.currency,
        home_currency=new.home_currency or new.currency,
        ingest_key=ingest.key,
        read_key=read.key,
    )
