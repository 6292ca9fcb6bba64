"""The body-deadline watchdog wakes only when its next deadline moves earlier; every alarm still fires."""

from __future__ import annotations

import functools
import threading
import time

from shared.core import requestbody


def _until_sleeping(watchdog: requestbody._Watchdog) -> None:
    """Wait until the watchdog thread waits on its condition (CPython's Condition keeps its waiters)."""
    for _ in range(10_000):
        with watchdog._cond:
            if getattr(watchdog._cond, "_waiters", None):
                return
        time.sleep(0.001)
    raise AssertionError("the watchdog thread never went to sleep")


def test_an_alarm_earlier_than_every_armed_one_still_fires_and_a_cancelled_one_never_does() -> None:
    watchdog = requestbody._Watchdog()
    late, early, cancelled = threading.Event(), threading.Event(), threading.Event()
    watchdog.arm(time.monotonic() + 3600, late.set)
    _until_sleeping(watchdog)  # the watchdog now sleeps for an hour: only a notify wakes it sooner
    gone = watchdog.arm(time.monotonic() + 0.01, cancelled.set)
    assert watchdog.cancel(gone) is False
    watchdog.arm(time.monotonic() + 0.02, early.set)  # earlier than the hour: must wake it
    assert early.wait(30), "the earlier alarm did not fire"
    assert not cancelled.is_set() and not late.is_set()


def test_alarms_armed_in_deadline_order_fire_in_that_order() -> None:
    watchdog = requestbody._Watchdog()
    fired: list[int] = []
    done = threading.Event()
    start = time.monotonic()
    for n in range(5):  # each later than the last: none of these arms wakes the watchdog
        watchdog.arm(start + 0.01 * (n + 1), functools.partial(fired.append, n))
    watchdog.arm(start + 0.1, done.set)
    assert done.wait(30)
    assert fired == [0, 1, 2, 3, 4]
