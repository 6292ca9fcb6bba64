"""Organizations (the wedding businesses): creation with validated zone and currency."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psycopg import Connection
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.catalog import currencies
from shared.core import apikeys, db


class NewOrganization(BaseModel):
    """What `org create` takes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(description="IANA time zone, such as Europe/London or Asia/Kathmandu")
    currency: str = Field(description="Default ISO 4217 currency, such as GBP")
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name, such as Europe/London or America/New_York") from None
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.upper()
        if not currencies.is_known(code):
            raise ValueError("must be an ISO 4217 currency code in circulation, such as GBP, EUR or USD")
        return code


class CreatedOrganization(BaseModel):
    id: UUID
    name: str
    timezone: str
    currency: str
    ingest_key: str
    read_key: str


def create(conn: Connection[Any], new: NewOrganization) -> CreatedOrganization:
    """Create the organization with an ingest key and a read key, in the caller's transaction."""
    org_id: UUID | None = db.fetch_scalar(
        conn,
        "create_organization",
        {
            "name": new.name,
            "timezone": new.timezone,
            "currency": new.currency,
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
        ingest_key=ingest.key,
        read_key=read.key,
    )
