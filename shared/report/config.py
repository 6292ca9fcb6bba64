"""An organization's report settings: `organizations.settings -> 'reports'`, validated strictly.

    {"reports": {"weekly": true, "monthly": true, "week_start": "monday",
                 "recipients": ["owner@example.com"], "webhook_url": "https://example.com/hooks/reports"}}

Missing keys take the defaults below: both reports are generated and stored (the dashboard lists them);
they are delivered only to the recipients and webhook configured. A bad setting is a clear error naming the
field; the scheduled run skips that organization (and says so) instead of guessing.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator

from shared.core import errors

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WeekStart = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weekly: bool = Field(default=True, description="Generate a report when each week closes")
    monthly: bool = Field(default=True, description="Generate a report when each month closes")
    week_start: WeekStart = Field(default="monday", description="First day of the organization's week")
    recipients: list[str] = Field(default_factory=list, max_length=50, description="Email addresses")
    webhook_url: HttpUrl | None = Field(default=None, description="Receives a signed POST per report")
    language: Literal["en"] = "en"

    @field_validator("recipients")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        cleaned = []
        for address in value:
            address = address.strip()
            if not _EMAIL.match(address):
                raise ValueError(f"{address!r} is not an email address such as owner@example.com")
            cleaned.append(address)
        return list(dict.fromkeys(cleaned))

    @field_validator("webhook_url")
    @classmethod
    def _https(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and value.scheme != "https" and value.host not in ("localhost", "127.0.0.1"):
            raise ValueError("must be an https:// URL (http only for localhost)")
        return value

    def wants(self, kind: str) -> bool:
        return bool(getattr(self, kind))


def from_settings(settings: dict[str, Any] | None) -> ReportSettings:
    """The `reports` block of an organization's settings; InvalidInput names each wrong field."""
    block = (settings or {}).get("reports", {})
    try:
        return ReportSettings.model_validate(block)
    except ValidationError as exc:
        problems = "; ".join(
            f"reports.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise errors.InvalidInput(f"invalid report settings: {problems}") from None
