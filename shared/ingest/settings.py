"""The ingest function's own settings: request limits and webhook intake."""

from __future__ import annotations

from pydantic import Field

from shared.core import settings


class IngestSettings(settings.CoreSettings):
    """The ingest function's own settings: request limits and webhook intake. Adds to the platform's settings, which it inherits."""

    max_body_bytes: int = Field(default=1024 * 1024, description="Largest ingest request body; larger gets 413.")
    body_read_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="The whole request body must arrive within this long after the handler starts reading it; "
        "a slower client gets 408 and its connection is closed, so a trickling body cannot hold a server thread.",
    )
    ingest_rate_per_second: float = Field(
        default=20.0,
        description="Requests per second each API key (or webhook source) may make to ingest, on each instance; "
        "beyond the burst it gets 429 with Retry-After. 0: no limit.",
    )
    ingest_rate_burst: int = Field(
        default=40, ge=1, description="Requests an API key may make at once before INGEST_RATE_PER_SECOND applies."
    )
    max_compression_ratio: int = Field(
        default=100,
        description="How many times a gzip body may expand when decoded; more gets 413 (a compression bomb).",
    )
    webhook_tolerance_seconds: int = Field(
        default=300, description="How old (or early) a signed webhook timestamp may be before it is refused."
    )
    webhook_rotation_window_hours: float = Field(
        default=24.0, description="How long the previous secret stays valid after `source rotate-secret`."
    )
    ingest_public_url: str = Field(
        default="http://127.0.0.1:8080", description="Public base URL of the ingest function (webhook URLs)."
    )


get = settings.cached(IngestSettings)
