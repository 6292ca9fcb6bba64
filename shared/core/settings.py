"""Configuration, read once from the environment (and `.env`) into typed models: the platform's own here, each
stage's in its package (`shared/<stage>/settings.py`, a subclass of `CoreSettings`).

A function loads only the settings classes of the packages it runs, so a setting of another stage (missing or
malformed) never stops it; docs/configuration.md lists them by function.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The value of every key the pipeline makes up for itself when none is given. It is public (it is in this
# file), so a deployed function refuses to start with it: see shared/core/startup.py.
DEVELOPMENT_ONLY = "wedsync-local-development-only"


S = TypeVar("S", bound="CoreSettings")


class CoreSettings(BaseSettings):
    """The platform's settings, which every function loads: database, queues, keys the core uses, limits.
    Names are the environment variables, case-insensitive."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _CLASSES.append(cls)

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL. Unset: an embedded server under WEDSYNC_DATA_DIR."
    )
    database_read_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of a read replica for the dashboard's answers and reports' numbers (writes stay "
        "on DATABASE_URL). Unset: every read goes to DATABASE_URL. docs/scaling.md, 'Read replica'.",
    )
    database_read_max_lag_seconds: float = Field(
        default=10.0,
        ge=0,
        description="A replica further behind the primary than this (measured by WAL position) is not read: the "
        "primary answers instead.",
    )
    wedsync_data_dir: str = Field(default=".data", description="Where the embedded PostgreSQL keeps its files.")
    wedsync_env: Literal["development", "production"] = Field(
        default="development",
        description="production: behave as deployed off Cloud Run too (there K_SERVICE says so): refuse development keys.",
    )
    pii_hash_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_ONLY),
        description="Key of the HMAC that pseudonymises personal data (emails, phones) before storage.",
    )
    ingest_queue: str = Field(
        default="ingest", description="pgmq queue from ingest (and webhook receipts) to validate."
    )
    aggregate_queue: str = Field(default="aggregate", description="pgmq queue from validate to aggregate.")
    season_start_month: int = Field(
        default=1,
        ge=1,
        le=12,
        description="Month a wedding season starts (1: seasons are calendar years of the wedding date, labelled "
        "2027; 4: April to March, labelled 2027-28). The dashboard's and reports' seasons use it.",
    )
    balance_due_lead_days: int = Field(
        default=0,
        ge=0,
        le=365,
        description="Days before the wedding a booking's balance is due (0: due on the wedding date); "
        "'balances due in the next N days' counts bookings whose due date falls in them.",
    )
    max_batch_events: int = Field(default=1000, description="Most events in one ingest request; more gets 413.")
    max_future_skew_seconds: int = Field(
        default=600, description="How far after its receipt an event's occurred_at may be."
    )
    queue_batch_size: int = Field(default=50, description="Messages a queue function reads per transaction.")
    queue_deep_read_events: int = Field(
        default=5000,
        ge=0,
        description="When validate's read comes back full (a deep queue), it reads more in the same transaction "
        "until its messages hold this many events (0: never; one read of queue_batch_size messages).",
    )
    queue_gather_ms: int = Field(
        default=20,
        ge=0,
        le=1000,
        description="When validate's read did not come back full (messages arriving one by one), it waits this "
        "long before its next read, so the messages that arrive meanwhile share one transaction instead of one "
        "each; a message waits at most this much longer (0: read again at once). A drain still ends at the first "
        "read that finds the queue empty.",
    )
    queue_visibility_timeout_seconds: int = Field(
        default=30,
        description="How long a read message stays invisible to other workers if its reader neither commits nor rolls back.",
    )
    queue_max_reads: int = Field(
        default=5,
        description="A message read more often than this goes to the dead letters instead of looping.",
    )
    api_key_cache_seconds: float = Field(
        default=10.0, description="How long a verified key is trusted without a look-up (revocation delay)."
    )
    db_pool_max_size: int = Field(default=8, description="Database connections per function instance.")
    db_statement_timeout_ms: int = Field(
        default=30_000,
        ge=0,
        description="Longest statement in a function's transaction (set per transaction: pooler-safe); 0: none.",
    )
    db_idle_in_transaction_timeout_ms: int = Field(
        default=60_000,
        ge=0,
        description="Longest a transaction may sit idle between statements before the server ends it; 0: none.",
    )
    cli_statement_timeout_ms: int = Field(
        default=0,
        ge=0,
        description="Longest statement of the operator's commands and migrations (rebuild, retention run); 0: none.",
    )
    invoke_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret the database or scheduler sends to queue and cron functions; unset: open.",
    )
    webhook_secrets_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_ONLY),
        description="Key that encrypts stored webhook signing secrets (AES-256-GCM). Set it in production.",
    )
    refresh_queue: str = Field(
        default="refresh", description="pgmq queue of debounced materialized-view refresh requests."
    )

    @property
    def max_future_skew(self) -> timedelta:
        return timedelta(seconds=self.max_future_skew_seconds)


_LOADERS: list[Callable[[], CoreSettings]] = []


def cached(cls: type[S]) -> Callable[[], S]:
    """A process-wide loader of one settings class, read from the environment on first use; `clear_cache` resets
    every loader (tests change the environment)."""

    @functools.cache
    def load() -> S:
        return cls()

    _LOADERS.append(load)
    return load


def clear_cache() -> None:
    for load in _LOADERS:
        load.cache_clear()  # type: ignore[attr-defined]


def classes() -> list[type[CoreSettings]]:
    """Every settings class loaded so far in this process (the core one and each imported stage's)."""
    return [CoreSettings, *(c for c in _CLASSES if c is not CoreSettings)]


_CLASSES: list[type[CoreSettings]] = []
get_settings = cached(CoreSettings)
