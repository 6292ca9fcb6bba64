"""A background sender: `send()` queues and returns at once; worker threads post batches through `Client`.

Every event ends in the totals as accepted, duplicate, rejected (also passed to `on_rejected`) or failed (also
passed to `on_failed`), or in `dropped` when the queue was full. `flush()` waits until everything queued so far
is settled; `close()` flushes and stops. With `flush_at_exit=True` the interpreter's exit flushes too (atexit;
a SIGTERM handler should call `close()`).
"""

from __future__ import annotations

import atexit
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from wedsync_client import batching, client, outcome

_log = logging.getLogger("wedsync_client")


def _post(sender: client.Client, batch: list[dict[str, Any]]) -> outcome.Report:
    """The batch's report; an unexpected error becomes a failure of its events instead of a dead worker."""
    try:
        return sender.post(batch)
    except Exception as exc:
        _log.exception("wedsync_client could not send a batch")
        return outcome.Report(failed=[outcome.Failure(None, "client_error", repr(exc), batch)])


class Totals:
    """What a sender did so far, and the rejections and failures passed to its callbacks."""

    def __init__(
        self,
        on_rejected: Callable[[outcome.Rejection], None] | None,
        on_failed: Callable[[outcome.Failure], None] | None,
    ) -> None:
        self.report = outcome.Report()
        self.on_rejected, self.on_failed = on_rejected, on_failed

    def mark(self) -> tuple[int, int, int, int, int]:
        r = self.report
        return r.accepted, r.duplicates, len(r.rejected), len(r.failed), r.retries

    def since(self, mark: tuple[int, int, int, int, int]) -> outcome.Report:
        r = self.report
        accepted, duplicates, rejected, failed, retries = mark
        return outcome.Report(
            r.accepted - accepted,
            r.duplicates - duplicates,
            r.rejected[rejected:],
            r.failed[failed:],
            r.retries - retries,
        )

    def tell(self, report: outcome.Report) -> None:
        """Pass the rejections and failures on; a callback's exception never stops the sender."""
        calls: list[Callable[[], None]] = []
        if self.on_rejected:
            calls += [functools.partial(self.on_rejected, r) for r in report.rejected]
        if self.on_failed:
            calls += [functools.partial(self.on_failed, f) for f in report.failed]
        for call in calls:
            try:
                call()
            except Exception:  # the caller's bug must not lose the other events
                _log.exception("a wedsync_client callback raised")


class Sender:
    def __init__(
        self,
        url: str,
        key: str,
        *,
        limits: batching.Limits | None = None,
        workers: int = 1,
        on_rejected: Callable[[outcome.Rejection], None] | None = None,
        on_failed: Callable[[outcome.Failure], None] | None = None,
        flush_at_exit: bool = False,
        **client_options: Any,
    ) -> None:
        self.client = client.Client(url, key, **client_options)
        self.buffer = batching.Buffer(limits or batching.Limits())
        self.totals = Totals(on_rejected, on_failed)
        self._cond = threading.Condition()
        self._urgent = 0
        self._in_flight = 0
        self._closed = False
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"wedsync-{i}") for i in range(workers)]
        for thread in self._threads:
            thread.start()
        if flush_at_exit:
            atexit.register(self.close)

    @property
    def dropped(self) -> int:
        """Events refused by `send()` because the queue held `max_queue` already."""
        return self.buffer.dropped

    @property
    def report(self) -> outcome.Report:
        return self.totals.report

    def send(self, item: dict[str, Any]) -> str | None:
        """Queue one event; its `event_id` (given or a fresh UUID), or None when it was dropped."""
        with self._cond:
            if self._closed:
                raise RuntimeError("this sender is closed")
            event_id = self.buffer.add(item)
            self._cond.notify()
        return event_id

    def flush(self, timeout: float | None = None) -> outcome.Report:
        """Send everything queued now and wait until it is settled; the report of what settled meanwhile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            mark = self.totals.mark()
            self._urgent += 1
            self._cond.notify_all()
            try:
                while len(self.buffer) or self._in_flight:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self._cond.wait(left)
            finally:
                self._urgent -= 1
            return self.totals.since(mark)

    def close(self, timeout: float | None = None) -> outcome.Report:
        """Flush, then stop the workers. Safe to call twice."""
        report = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        atexit.unregister(self.close)
        self.client.close()
        return report

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    due = self.buffer.due_in(bool(self._urgent) or self._closed)
                    if due == 0.0:
                        break
                    if due is None and self._closed:
                        return
                    self._cond.wait(due)
                batch = self.buffer.take()
                self._in_flight += 1
            report = _post(self.client, batch)
            self.totals.tell(report)  # before the batch counts as settled: a flush returns after its callbacks
            with self._cond:
                self.totals.report.add(report)
                self._in_flight -= 1
                self._cond.notify_all()
