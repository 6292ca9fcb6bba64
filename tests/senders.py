"""For the sender clients' tests: a real ingest function that can be restarted on its port, and what the
pipeline stored once validate has drained."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from shared.tools import deployment, runner
from tests import factories, pipeline


@dataclass
class Ingest:
    """The ingest function served on one port; `restart()` kills it (as a crash would) and starts it again."""

    database_url: str
    fn: runner.RunningFunction
    restarts: int = 0

    @property
    def port(self) -> int:
        return self.fn.port

    def restart(self) -> None:
        self.fn.kill()
        self.fn = runner.start_function("ingest", self.fn.spec, self.database_url, self.port, self.fn.extra_env)
        runner.wait_ready(self.fn)
        self.restarts += 1


@contextmanager
def ingest(database_url: str) -> Iterator[Ingest]:
    spec = deployment.load().functions["ingest"]
    fn = runner.start_function("ingest", spec, database_url, runner.free_port())
    served = Ingest(database_url, fn)
    try:
        runner.wait_ready(fn)
        yield served
    finally:
        served.fn.stop()


def batch(prefix: str, good: int, bad: int) -> tuple[list[dict[str, Any]], set[str]]:
    """`good` valid events of every family in turn and `bad` ones with an unknown field; the bad ones' ids."""
    kinds = list(factories.SAMPLE_DATA)
    events = [factories.make_event(kinds[i % len(kinds)], event_id=f"{prefix}-ok-{i}") for i in range(good)]
    refused = [factories.make_event("form.started", event_id=f"{prefix}-bad-{i}", colour="red") for i in range(bad)]
    mixed = [e for pair in zip(events, refused, strict=False) for e in pair] + events[len(refused) :]
    return mixed, {e["event_id"] for e in refused}


def stored_counts(conn: psycopg.Connection[Any], organization_id: Any) -> dict[str, int]:
    """Rows per `event_id` in analytics_events, once validate has stored everything queued."""
    pipeline.validate_all()
    rows = conn.execute(
        "select event_id, count(*)::int from analytics_events where organization_id = %s group by 1",
        (organization_id,),
    ).fetchall()
    return dict(rows)
