"""A generated organization for the browser tests: months of the demo business's events (shared/tools/demo),
sent through the ingest function's app, validated, aggregated and refreshed like the pipeline does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from shared.aggregate import aggregation
from shared.core import db
from shared.refresh import views as refresh
from shared.tools.demo import business, story
from shared.validate import validation

BATCH = 250


def _send(ingest_app: Any, key: str, events: list[dict[str, Any]]) -> Any:
    """One batch, waiting out the ingest key's rate limit (INGEST_RATE_*) as a client would, on a 429."""
    while True:
        answer = ingest_app.post(
            "/v1/events",
            data=json.dumps({"events": events}),
            headers={"Authorization": f"Bearer {key}"},
            content_type="application/json",
        )
        if answer.status_code != 429:
            return answer
        time.sleep(min(5.0, float(answer.headers.get("Retry-After") or 1)))


def organization(make_org: Callable[..., Any], ingest_app: Any, *, months: int = 2, seed: int = 7, **org: Any) -> Any:
    """An organization holding `months` of the demo business's API events up to yesterday in its zone."""
    shop = business.Business()
    found = make_org(**{"name": shop.name, "timezone": shop.timezone, "currency": shop.currency, **org})
    year = story.generate(seed, months=months, business=shop)
    for i in range(0, len(year.events), BATCH):
        answer = _send(ingest_app, found.ingest_key, year.events[i : i + BATCH])
        assert answer.status_code == 202, answer.json
    assert not validation.drain(db.transaction)[1]
    assert not aggregation.drain(db.transaction)[1]
    refresh.run(db.transaction, force=True)
    return found
