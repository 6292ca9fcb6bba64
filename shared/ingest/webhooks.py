"""Webhook sources: provider accounts that post to the pipeline, their secrets, and the two halves of a delivery.

`receive` (ingest) verifies the raw body against the source's live secrets and, only if it is authentic and
fresh, queues it on `ingest` as a `kind: "webhook"` message in the same transaction that answers 2xx. A refusal
stores nothing but a counter. `expand` (validate) turns a queued delivery into canonical catalog events through
the provider's parser; those then take exactly the path of first-party events (catalog, store, dedupe).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field, field_validator

from shared.core import db, queues, secretbox, stats
from shared.ingest import providers
from shared.ingest import settings as ingest_settings
from shared.ingest.providers import registry

log = logging.getLogger(__name__)
Transaction = Callable[[], AbstractContextManager[Connection[Any]]]


class WebhookMessage(BaseModel):
    """One verified delivery on the `ingest` queue: the raw body and the headers its parser needs."""

    kind: Literal["webhook"]
    organization_id: UUID
    provider: str
    source_id: UUID
    source_settings: dict[str, Any] = Field(default_factory=dict)
    received_at: datetime
    body: str
    headers: dict[str, str] = Field(default_factory=dict)

    @property
    def source(self) -> providers.Source:
        return providers.Source(self.source_id, self.organization_id, self.provider, self.source_settings)


class SourceSettings(BaseModel):
    """Mapping options of a source (forms): which forms are inquiry forms and their default lead source."""

    inquiry_forms: list[str] = Field(default_factory=list, description="Form ids, or '*' for every form")
    lead_source: str | None = Field(default=None, description="Lead source when the form does not say")

    @field_validator("lead_source")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is None:
            return None
        slug = providers.slug_or_none(value)
        if slug is None:
            raise ValueError("must be a short name such as website, instagram or wedding_fair")
        return slug


class SourceInfo(BaseModel):
    id: UUID
    organization_id: UUID
    provider: str
    name: str
    settings: dict[str, Any]
    endpoint: str
    created_at: datetime
    rotated_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None


class NewSource(BaseModel):
    source: SourceInfo
    secret: str | None = Field(description="Only when we generated it: shown once, never again")


@dataclass(frozen=True)
class StoredSource:
    """A source as stored, with its encrypted secrets (`secretbox.open_` them with the source id as context)."""

    id: UUID
    organization_id: UUID
    provider: str
    name: str
    settings: dict[str, Any] | None
    secret_ciphertext: bytes
    previous_secret_ciphertext: bytes | None
    previous_secret_expires_at: datetime | None


class InvalidSecret(ValueError):
    pass


def endpoint(provider: str, source_id: UUID) -> str:
    base = ingest_settings.get().ingest_public_url.rstrip("/")
    return f"{base}/v1/webhooks/{provider}/{source_id}"


def _secret_for(provider: providers.Provider, secret: str | None) -> tuple[str, bool]:
    """(secret, generated): the given one checked, or a new one where we are the side that chooses it."""
    if secret is None:
        if provider.generate_secret is None:
            raise InvalidSecret(f"--secret is required for {provider.name}: paste the {provider.secret_label}")
        return provider.generate_secret(), True
    problem = provider.check_secret(secret.strip())
    if problem:
        raise InvalidSecret(f"--secret: {problem}")
    return secret.strip(), False


def create(
    conn: Connection[Any],
    organization_id: UUID,
    provider_name: str,
    *,
    secret: str | None = None,
    name: str = "",
    options: SourceSettings | None = None,
) -> NewSource:
    """Register a source; the secret is encrypted before it reaches the database."""
    provider = registry.get(provider_name)
    plain, generated = _secret_for(provider, secret)
    source_id = uuid4()
    opts = (options or SourceSettings()).model_dump(exclude_none=True, exclude_defaults=True)
    created_at = db.fetch_scalar(
        conn,
        "create_webhook_source",
        {
            "id": source_id,
            "organization_id": organization_id,
            "provider": provider.name,
            "name": name,
            "secret": secretbox.seal(plain, str(source_id)),
            "settings": Jsonb(opts),
        },
    )
    assert created_at is not None
    info = SourceInfo(
        id=source_id,
        organization_id=organization_id,
        provider=provider.name,
        name=name,
        settings=opts,
        endpoint=endpoint(provider.name, source_id),
        created_at=created_at,
    )
    return NewSource(source=info, secret=plain if generated else None)


def list_(conn: Connection[Any], organization_id: UUID) -> list[SourceInfo]:
    rows = db.fetch_all(conn, "list_webhook_sources", {"organization_id": organization_id}, dict_row)
    return [SourceInfo(**r, endpoint=endpoint(r["provider"], r["id"])) for r in rows]


def find(conn: Connection[Any], source_id: UUID) -> StoredSource | None:
    """The source with this id and its encrypted secrets, or None."""
    return db.fetch_one(conn, "find_webhook_source", {"id": source_id}, StoredSource)


def rotate_secret(
    conn: Connection[Any], source_id: UUID, *, secret: str | None = None, window: timedelta | None = None
) -> tuple[datetime, str | None]:
    """Make a new secret current; the old one is still accepted until the returned time.

    Returns (old secret valid until, the new secret if we generated it). Raises LookupError for an unknown id.
    """
    stored = find(conn, source_id)
    if stored is None:
        raise LookupError(f"no webhook source {source_id}")
    provider = registry.get(stored.provider)
    plain, generated = _secret_for(provider, secret)
    hours = ingest_settings.get().webhook_rotation_window_hours
    seconds = (window or timedelta(hours=hours)).total_seconds()
    done = db.fetch_one(
        conn,
        "rotate_webhook_source_secret",
        {"id": source_id, "secret": secretbox.seal(plain, str(source_id)), "window_seconds": seconds},
        dict_row,
    )
    assert done is not None
    return done["previous_secret_expires_at"], plain if generated else None


# ----- ingest half ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Registered:
    source: providers.Source
    secrets: list[str]


def _lookup(conn: Connection[Any], provider: str, source_id: str, now: datetime) -> _Registered | None:
    try:
        sid = UUID(source_id)
    except ValueError:
        return None
    row = find(conn, sid)
    if row is None or row.provider != provider:
        return None
    secrets = [secretbox.open_(bytes(row.secret_ciphertext), str(sid))]
    if (
        row.previous_secret_ciphertext is not None
        and row.previous_secret_expires_at is not None
        and row.previous_secret_expires_at > now
    ):
        secrets.append(secretbox.open_(bytes(row.previous_secret_ciphertext), str(sid)))
    return _Registered(providers.Source(row.id, row.organization_id, row.provider, row.settings or {}), secrets)


@dataclass(frozen=True)
class Receipt:
    """What ingest answers: 202 queued, 401 refused (with the check that failed), 404 no such source."""

    status: Literal[202, 401, 404]
    message: str
    message_id: int | None = None


def receive(
    transaction: Transaction,
    provider_name: str,
    source_id: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: datetime | None = None,
) -> Receipt:
    """Verify one delivery and queue it durably, or refuse it and count the refusal (payload-free)."""
    now = now or datetime.now(UTC)
    cfg = ingest_settings.get()
    try:
        provider = registry.get(provider_name)
    except KeyError:
        return Receipt(404, f"unknown provider '{provider_name}'; one of: {', '.join(providers.PROVIDERS)}")
    with transaction() as conn:
        registered = _lookup(conn, provider.name, source_id, now)  # SecretUnreadable: a 500, the provider retries
    if registered is None:
        return Receipt(404, f"no {provider.name} webhook source {source_id}")
    source = registered.source
    try:
        body.decode("utf-8")
        provider.verify(body, headers, registered.secrets, now, cfg.webhook_tolerance_seconds)
    except (providers.Refused, UnicodeDecodeError) as exc:
        reason = str(exc) if isinstance(exc, providers.Refused) else "the body is not UTF-8"
        log.warning("refused a %s delivery for source %s: %s", provider.name, source.id, reason)
        with transaction() as conn:
            tally = stats.Tally()
            tally.add(source.organization_id, source.label, now, "refused")
            tally.write(conn)
        return Receipt(401, reason)
    kept = {name: value for name in provider.headers if (value := providers.header(headers, name)) is not None}
    message = WebhookMessage(
        kind="webhook",
        organization_id=source.organization_id,
        provider=provider.name,
        source_id=source.id,
        source_settings=dict(source.settings),
        received_at=now,
        body=body.decode("utf-8"),
        headers=kept,
    )
    with transaction() as conn:
        msg_id = queues.send(conn, cfg.ingest_queue, message)
    return Receipt(202, "queued", msg_id)


# ----- validate half --------------------------------------------------------------------------------------------


def expand(message: WebhookMessage) -> providers.Mapped:
    """The canonical events of a queued delivery (not yet catalog-checked), what was ignored and rejected."""
    provider = registry.get(message.provider)
    return provider.parse(message.body, message.headers, message.source)
