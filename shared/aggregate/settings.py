"""The aggregate function's own settings."""

from __future__ import annotations

from pydantic import Field

from shared.core import settings


class AggregateSettings(settings.CoreSettings):
    """The aggregate function's own settings. Adds to the platform's settings, which it inherits."""

    aggregate_batch_size: int = Field(
        default=100, description="StoredEvents messages aggregate reads per transaction (each holds many ids)."
    )
    aggregate_deep_read_events: int = Field(
        default=10_000,
        ge=0,
        description="When aggregate's read comes back full (a deep queue), it reads more in the same transaction "
        "until its messages hold this many events (0: never; one read of aggregate_batch_size messages).",
    )


get = settings.cached(AggregateSettings)
