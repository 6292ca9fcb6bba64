"""The refresh function's own settings: debounce and safety net."""

from __future__ import annotations

from pydantic import Field

from shared.core import settings


class RefreshSettings(settings.CoreSettings):
    """The refresh function's own settings: debounce and safety net. Adds to the platform's settings, which it inherits."""

    refresh_debounce_seconds: int = Field(
        default=5, description="Materialized views refresh at most this often after their inputs changed."
    )
    refresh_safety_seconds: int = Field(
        default=900, description="A view is refreshed at least this often even when nothing flagged it."
    )


get = settings.cached(RefreshSettings)
