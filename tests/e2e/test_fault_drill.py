from __future__ import annotations

import sys

import pytest

from shared.core import settings
from shared.tools import runner

sys.path.insert(0, str(runner.ROOT / "bench"))


@pytest.mark.e2e
@pytest.mark.timeout(600)  # ~32 s on the busy 2-core machine: an embedded server, killed workers, a restart
def test_acknowledged_events_are_stored_and_counted_once_through_killed_workers_and_a_postgres_restart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fault_drill

    monkeypatch.setenv("DATABASE_URL", "")  # the drill owns an embedded server; restored afterwards
    try:
        result = fault_drill.drill(seconds=10)
    finally:
        settings.clear_cache()
    assert result["acked"] > 0
    assert result["missing"] == [] and result["stored_twice"] == []
    assert result["stored_acked"] == result["acked"]
    assert result["aggregate_queue_left"] == 0 and result["rollup_mismatches"] == 0  # each counted exactly once
    assert result["ingest_queue_left"] == 0
    assert any("PostgreSQL restarted" in line for line in result["log"])
    assert any("SIGKILLed aggregate" in line for line in result["log"])
