"""One request at a time to `POST /v1/events`, retried by the ingest contract until it is settled.

`Client.post(events)` sends one batch and returns its `Report` once ingest answered 202 (every event accepted,
duplicate or rejected), a 4xx refused the request (a `Failure`, never retried), or the attempts ran out (a
`Failure` with the last error). The `event_id`s are fixed before the first attempt, so a retry of a request
that was in fact kept is counted as a duplicate, never stored twice.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wedsync_client import events as build
from wedsync_client import outcome, policy, transport

DEFAULT_ATTEMPTS = 10
# What an attempt that got no answer raises: every socket, TLS and tunnel error, and an answer cut short.
NO_ANSWER: tuple[type[Exception], ...] = (OSError, http.client.HTTPException)


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: float | None
    body: Any


class _Attempt:
    """The retry loop's state for one request, shared by the sync and async clients."""

    def __init__(self, events: list[dict[str, Any]], attempts: int, backoff: policy.Backoff) -> None:
        self.events, self.attempts, self.backoff = events, attempts, backoff
        self.tries = 0
        self.last: tuple[int | None, str, str] = (None, "unreachable", "no answer")

    def settle(self, answer: Answer | Exception) -> outcome.Report | float:
        """The report when the request is settled, or the seconds to wait before the next attempt."""
        self.tries += 1
        retries = self.tries - 1
        if isinstance(answer, Exception):
            self.last = (None, "connection_error", f"{type(answer).__name__}: {answer}")
        elif answer.status == 202 and isinstance(answer.body, dict):
            return outcome.from_answer(self.events, answer.body, retries)
        elif not policy.retryable(answer.status):
            error, message = policy.error_of(answer.body)
            failure = outcome.Failure(answer.status, error, message, self.events)
            return outcome.Report(failed=[failure], retries=retries)
        else:
            self.last = (answer.status, *policy.error_of(answer.body))
        if self.tries >= self.attempts:
            status, error, message = self.last
            failure = outcome.Failure(status, error, f"gave up after {self.tries} attempts: {message}", self.events)
            return outcome.Report(failed=[failure], retries=retries)
        wait = self.backoff.delay(self.tries - 1)
        if not isinstance(answer, Exception) and answer.retry_after is not None:
            wait = max(wait, answer.retry_after)
        return wait


class Client:
    """A blocking client for one ingest URL and key; safe to share between threads (a kept-alive connection per
    thread, `transport.Connection`)."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: policy.Backoff | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/v1/events"
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.attempts, self.backoff, self.timeout, self.sleep = attempts, backoff or policy.Backoff(), timeout, sleep
        transport.Connection(self.endpoint, self.headers, timeout)  # a URL it cannot send to fails here, not later
        self._local = threading.local()
        # Each thread's connection, to close them all; a thread's connection goes when the thread ends.
        self._connections: weakref.WeakSet[transport.Connection] = weakref.WeakSet()
        self._lock = threading.Lock()

    def _connection(self) -> transport.Connection:
        connection: transport.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = transport.Connection(self.endpoint, self.headers, self.timeout)
            with self._lock:
                self._connections.add(connection)
        return connection

    def request(self, body: bytes) -> Answer:
        """One attempt: the answer, or one of `NO_ANSWER` (an `OSError`) when none came."""
        reply = self._connection().post(body)
        try:
            parsed: Any = json.loads(reply.body)
        except ValueError:
            parsed = reply.body.decode("utf-8", "replace")
        return Answer(reply.status, policy.retry_after(reply.retry_after), parsed)

    def post(self, events: list[dict[str, Any]]) -> outcome.Report:
        """Send these events as one request (at most 1000, 1 MiB) until ingest settles it; see the module doc."""
        if not events:
            return outcome.Report()
        events = [build.identified(e) for e in events]
        body = build.body([build.encode(e) for e in events])
        attempt = _Attempt(events, self.attempts, self.backoff)
        while True:
            try:
                answer: Answer | Exception = self.request(body)
            except NO_ANSWER as exc:
                answer = exc
            settled = attempt.settle(answer)
            if isinstance(settled, outcome.Report):
                return settled
            self.sleep(settled)

    def close(self) -> None:
        """Close the connections of every thread that sent; the client can still send afterwards (each thread's
        next request connects again)."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()


class AsyncClient:
    """The same for asyncio: each attempt runs the blocking request in a worker thread, the waits are
    `asyncio.sleep`, so the event loop is never blocked."""

    def __init__(self, url: str, key: str, **options: Any) -> None:
        self.sync = Client(url, key, **options)

    async def post(self, events: list[dict[str, Any]]) -> outcome.Report:
        if not events:
            return outcome.Report()
        events = [build.identified(e) for e in events]
        body = build.body([build.encode(e) for e in events])
        attempt = _Attempt(events, self.sync.attempts, self.sync.backoff)
        while True:
            try:
                answer: Answer | Exception = await asyncio.to_thread(self.sync.request, body)
            except NO_ANSWER as exc:
                answer = exc
            settled = attempt.settle(answer)
            if isinstance(settled, outcome.Report):
                return settled
            await asyncio.sleep(settled)

    def close(self) -> None:
        self.sync.close()
