"""The asyncio sender: the same queue, limits and guarantees as `Sender`, with tasks instead of threads.

Create it inside a running loop (`async with AsyncSender(...) as sender:`), `send()` from any coroutine,
`await sender.flush()` to wait until everything queued is settled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Any

from wedsync_client import batching, client, outcome
from wedsync_client import sender as threaded


class AsyncSender:
    def __init__(
        self,
        url: str,
        key: str,
        *,
        limits: batching.Limits | None = None,
        workers: int = 1,
        on_rejected: Callable[[outcome.Rejection], None] | None = None,
        on_failed: Callable[[outcome.Failure], None] | None = None,
        **client_options: Any,
    ) -> None:
        self.client = client.AsyncClient(url, key, **client_options)
        self.buffer = batching.Buffer(limits or batching.Limits())
        self.totals = threaded.Totals(on_rejected, on_failed)
        self._cond = asyncio.Condition()
        self._wake = asyncio.Event()
        self._urgent = 0
        self._in_flight = 0
        self._closed = False
        self._tasks = [asyncio.get_running_loop().create_task(self._work()) for _ in range(workers)]

    async def __aenter__(self) -> AsyncSender:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def dropped(self) -> int:
        return self.buffer.dropped

    @property
    def report(self) -> outcome.Report:
        return self.totals.report

    def send(self, item: dict[str, Any]) -> str | None:
        """Queue one event; its `event_id`, or None when the queue was full and it was dropped."""
        if self._closed:
            raise RuntimeError("this sender is closed")
        event_id = self.buffer.add(item)
        self._wake.set()
        return event_id

    async def flush(self, timeout: float | None = None) -> outcome.Report:
        """Send everything queued now and wait until it is settled; the report of what settled meanwhile."""
        mark = self.totals.mark()
        self._urgent += 1
        self._wake.set()
        try:
            async with self._cond:
                await asyncio.wait_for(
                    self._cond.wait_for(lambda: not len(self.buffer) and not self._in_flight), timeout
                )
        except TimeoutError:
            pass
        finally:
            self._urgent -= 1
        return self.totals.since(mark)

    async def close(self, timeout: float | None = None) -> outcome.Report:
        report = await self.flush(timeout)
        self._closed = True
        self._wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.client.close()
        return report

    async def _work(self) -> None:
        while True:
            due = self.buffer.due_in(bool(self._urgent) or self._closed)
            if due is None and self._closed:
                self._wake.set()  # the other workers end too
                return
            if due != 0.0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), due)
                continue
            batch = self.buffer.take()
            self._in_flight += 1
            try:
                report = await self.client.post(batch)
            except Exception as exc:  # a failure of these events, never a dead worker
                report = outcome.Report(failed=[outcome.Failure(None, "client_error", repr(exc), batch)])
            self.totals.tell(report)
            self.totals.report.add(report)
            self._in_flight -= 1
            async with self._cond:
                self._cond.notify_all()
