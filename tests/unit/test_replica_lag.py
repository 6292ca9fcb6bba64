"""How far behind a read replica is, from the primary's WAL positions sampled over time (shared.core.replica)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.core import replica

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _samples(*positions: int) -> list[tuple[float, datetime, int]]:
    """One sample a second, oldest first."""
    return [(float(i), T0 + timedelta(seconds=i), p) for i, p in enumerate(positions)]


def test_an_idle_primary_leaves_a_replica_at_its_position_current_to_the_newest_sample() -> None:
    assert replica.vouched(_samples(100, 100, 100), replayed=100) == T0 + timedelta(seconds=2)


def test_a_replica_is_current_to_the_newest_sample_it_has_passed_not_to_its_replay_time() -> None:
    assert replica.vouched(_samples(100, 200, 300, 400), replayed=250) == T0 + timedelta(seconds=1)


def test_a_replica_behind_every_sample_vouches_for_nothing() -> None:
    assert replica.vouched(_samples(100, 200), replayed=99) is None
    assert replica.vouched([], replayed=10**9) is None
