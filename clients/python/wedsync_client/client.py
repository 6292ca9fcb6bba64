"""One request at a time to `POST /v1/events`, retried by the ingest contract until it is settled.

`Client.post(events)` sends one batch and returns its `Report` once ingest answered 202 (every event accepted,
duplicate or rejected), a 4xx refused the request (a `Failure`, never retried), or the attempts ran out (a
`Failure` with the last error). The `event_id`s are fixed before the first attempt, so a retry of a request
that was in fact kept is counted as a duplicate, never stored twice.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from wedsync_client import events as build
from wedsync_client import outcome, policy

DEFAULT_ATTEMPTS = 10


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
    """A blocking client for one ingest URL and key; safe to share between threads (a session per thread)."""

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
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def request(self, body: bytes) -> Answer:
        """One attempt: the answer, or a `requests.RequestException` when none came."""
        answer = self._session().post(self.endpoint, data=body, headers=self.headers, timeout=self.timeout)
        try:
            parsed: Any = answer.json()
        except ValueError:
            parsed = answer.text
        return Answer(answer.status_code, policy.retry_after(answer.headers.get("Retry-After")), parsed)

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
            except requests.RequestException as exc:
                answer = exc
            settled = attempt.settle(answer)
            if isinstance(settled, outcome.Report):
                return settled
            self.sleep(settled)

    def close(self) -> None:
        """Close the connections of every thread that sent; the client can still send afterwards."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


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
            except requests.RequestException as exc:
                answer = exc
            settled = attempt.settle(answer)
            if isinstance(settled, outcome.Report):
                return settled
            await asyncio.sleep(settled)

    def close(self) -> None:
        self.sync.close()
