"""Webhook providers: each module verifies its provider's signature scheme and maps its payloads.

A provider module exposes one `PROVIDER` describing:
- `verify(body, headers, secrets, now, tolerance)`: raises `Refused` unless the raw body bytes carry a valid
  signature (or credential) under one of the source's live secrets, within the replay tolerance;
- `parse(body, headers, source)`: reads only the fields we use, through pydantic models, and returns canonical
  catalog events (plain dicts, checked later by the catalog like first-party events), the number of provider
  events we do not use (`ignored`), and the items that do not parse (`rejected`, for the dead letters).

Event ids are derived from the provider's own ids, so a redelivery maps to the same ids and is a duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets as _secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from shared.core import deadletters

PROVIDERS: tuple[str, ...] = ("stripe", "resend", "sendgrid", "postmark", "typeform", "form")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class Refused(Exception):
    """The delivery is not authentic or not fresh. The message names the check, never the payload."""


@dataclass(frozen=True)
class Source:
    """The registered provider account a delivery came through (secrets excluded)."""

    id: UUID
    organization_id: UUID
    provider: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The `source` of the stored events and of the intake counters: `<provider>:<source id>`."""
        return f"{self.provider}:{self.id}"

    def is_inquiry_form(self, form_id: str | None) -> bool:
        forms = self.settings.get("inquiry_forms") or []
        return "*" in forms or (form_id is not None and form_id in forms)


@dataclass
class Rejected:
    payload: Any
    reasons: list[deadletters.Reason]
    event_id: str | None = None
    event_type: str | None = None


@dataclass
class Mapped:
    """What one delivery turned into."""

    items: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    ignored: int = 0
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class Provider:
    name: str
    # Request headers (lower-case) the parser needs; they travel with the body in the queue message.
    headers: tuple[str, ...]
    verify: Callable[[bytes, Mapping[str, str], list[str], datetime, int], None]
    parse: Callable[[str, Mapping[str, str], Source], Mapped]
    # None: the provider issues the secret (it must be given); otherwise a generator for a new one.
    generate_secret: Callable[[], str] | None = None
    # Returns what is wrong with a secret given on the command line, or None.
    check_secret: Callable[[str], str | None] = lambda s: None if s.strip() else "must not be empty"
    secret_label: str = "signing secret"


# ----- helpers the provider modules share -------------------------------------------------------------------


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def ref(*parts: object) -> str:
    """A catalog id (`Ref`) from provider ids: joined with ':'; hashed when it would not be a valid Ref."""
    text = ":".join(str(p) for p in parts)
    if len(text) <= 128 and _REF.match(text):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:40]
    return f"{parts[0]}:h:{digest}"


def slug_or_none(value: object) -> str | None:
    """A catalog slug from free text (tags, categories), or None if it cannot be one; never a rejection."""
    if not isinstance(value, str):
        return None
    normalised = re.sub(r"[\s-]+", "_", value.strip().lower())
    return normalised if _SLUG.match(normalised) else None


def ref_or_none(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and 0 < len(value) <= 128 and _REF.match(value):
        return value
    return None


def iso(timestamp: int | float | datetime) -> str:
    if isinstance(timestamp, datetime):
        return (timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def event(
    event_id: str, type_: str, occurred_at: str, data: dict[str, Any], client_id: str | None = None
) -> dict[str, Any]:
    """A raw catalog event; None data fields are left out so catalog defaults apply."""
    raw: dict[str, Any] = {
        "event_id": event_id,
        "type": type_,
        "occurred_at": occurred_at,
        "data": {k: v for k, v in data.items() if v is not None},
    }
    if client_id is not None:
        raw["client_id"] = client_id
    return raw


def form_events(
    prefix: str,
    key: str,
    source: Source,
    *,
    form_id: str,
    form_name: str | None,
    when: str,
    client_id: str | None,
    is_inquiry: bool,
    lead_source: str | None,
    inquiry: dict[str, Any],
) -> list[dict[str, Any]]:
    """form.submitted, plus inquiry.received when the form is an inquiry form (shared with the generic form)."""
    lead = slug_or_none(lead_source) or slug_or_none(source.settings.get("lead_source")) or "website"
    client = client_id or ref(prefix, "respondent", key)
    out = [
        event(
            ref(prefix, key),
            "form.submitted",
            when,
            {
                "form_id": ref_or_none(form_id) or ref(prefix, form_id),
                "form_name": (form_name or None) and form_name[:500],
                "session_id": ref_or_none(key),
                "is_inquiry": is_inquiry,
                "lead_source": lead,
            },
            client,
        )
    ]
    if is_inquiry:
        out.append(
            event(
                ref(prefix, key, "inquiry"),
                "inquiry.received",
                when,
                {"inquiry_id": ref(prefix, key), "lead_source": lead, "channel": "web_form", **inquiry},
                client,
            )
        )
    return out


def load_json(body: str, provider: str) -> tuple[Any, Rejected | None]:
    try:
        return json.loads(body), None
    except ValueError as exc:
        return None, Rejected(
            {"body": body[:10_000]},
            [
                deadletters.Reason(
                    loc=[provider], type="invalid_json", msg=f"the delivery body is not valid JSON: {exc}"
                )
            ],
        )


def rejected_from(
    exc: ValidationError, payload: Any, provider: str, *, event_id: str | None = None, event_type: str | None = None
) -> Rejected:
    reasons = [
        deadletters.Reason(loc=[provider, *r.loc], msg=r.msg, type=r.type) for r in deadletters.reasons_from(exc)
    ]
    return Rejected(payload, reasons, event_id, event_type)


def check_hmac_secret(secret: str) -> str | None:
    """A secret we normally generate, given by hand (e.g. one already set in Typeform): long enough to be one."""
    return None if len(secret) >= 16 else "must be at least 16 characters (omit --secret to generate one)"


def hmac_secret() -> str:
    """A fresh random secret for providers where we choose it (forms, Typeform, Postmark credentials)."""
    return _secrets.token_urlsafe(32)


def b64decode_strict(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return None


def fresh(timestamp: int, now: datetime, tolerance: int) -> None:
    """Refuse a signed timestamp outside now ± tolerance (replays, or a clock far off)."""
    age = now.timestamp() - timestamp
    if age > tolerance:
        raise Refused(f"the signed timestamp is {int(age)} s old; at most {tolerance} s allowed")
    if age < -tolerance:
        raise Refused(f"the signed timestamp is {int(-age)} s in the future; at most {tolerance} s allowed")
