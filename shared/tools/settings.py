"""Settings of the operator tooling (the local runner); never loaded by a function."""

from __future__ import annotations

from pydantic import Field

from shared.core import settings


class ToolsSettings(settings.CoreSettings):
    """Settings of the operator tooling (the local runner); never loaded by a function. Adds to the platform's settings, which it inherits."""

    local_queue_workers: int = Field(
        default=2, ge=1, le=16, description="Concurrent drains per queue function under `up` (instances in production)."
    )


get = settings.cached(ToolsSettings)
