"""The aggregate function's own settings."""

from __future__ import annotations

from pydantic import Field

from shared.core import settings


class AggregateSettings(settings.CoreSettings):
    """The aggregate function's own settings. Adds to the platform's settings, which it inherits."""

    aggregate_batch_size: int = Field(
        default=100, description="StoredEvents messages aggregate reads per transaction (each holds many ids)."
    )


get = settings.cached(AggregateSettings)
