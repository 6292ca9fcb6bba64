"""How a queue function drains: batch after batch until a read finds nothing, pausing after a batch that did not
fill a read so that messages arriving one by one share transactions."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from shared.core import queues


@dataclass
class _Outcome:
    messages: int

    def add(self, other: Any) -> None:
        self.messages += other.messages


def _drain(
    sizes: list[int], monkeypatch: pytest.MonkeyPatch, gather_ms: int = 20, full_at: int = 50
) -> tuple[int, bool, list[float], int]:
    """Drain batches of these sizes; (messages, more, the pauses taken, batches run)."""
    pauses: list[float] = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    batches = iter(sizes)
    ran: list[int] = []

    def run_batch() -> _Outcome:
        ran.append(1)
        return _Outcome(next(batches, 0))

    totals, more = queues.drain_batches(
        run_batch,
        timedelta(seconds=20),
        gather=timedelta(milliseconds=gather_ms),
        full=lambda o: o.messages >= full_at,
    )
    return totals.messages, more, pauses, len(ran)


def test_a_batch_that_did_not_fill_its_read_is_followed_by_a_pause_before_the_next_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _drain([1, 3, 2], monkeypatch) == (6, False, [0.02, 0.02, 0.02], 4)


def test_a_full_batch_is_followed_at_once_and_the_drain_ends_at_the_first_empty_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _drain([50, 50, 7], monkeypatch) == (107, False, [0.02], 4)


def test_an_empty_queue_is_read_once_without_a_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _drain([], monkeypatch) == (0, False, [], 1)


def test_without_gather_every_batch_is_followed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _drain([1, 1, 1], monkeypatch, gather_ms=0) == (3, False, [], 4)


def test_the_budget_still_ends_a_drain_that_never_finds_the_queue_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "monotonic", iter([0.0, 5.0, 10.0, 25.0]).__next__)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    batches = iter([1, 1, 1, 1, 1])
    totals, more = queues.drain_batches(
        lambda: _Outcome(next(batches)),
        timedelta(seconds=20),
        gather=timedelta(milliseconds=20),
        full=lambda o: o.messages >= 50,
    )
    assert (totals.messages, more) == (3, True)
