"""Reading a request body within a size limit and a deadline, so a client that trickles its body cannot hold a
server thread for ever.

gunicorn's threaded worker (how functions-framework serves us, locally and on Cloud Run) reads the body on the
request's thread with a blocking socket and no timeout, and its readers loop until they have the bytes asked
for: a socket timeout per `recv` does not bound a client sending one byte a second. So a process-wide watchdog
shuts the read side of the connection when the deadline passes; the blocked read then ends at once, and the
caller answers 408 on the still-writable socket and closes the connection.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import flask

_CHUNK = 64 * 1024


class TooLarge(Exception):
    """The body is over the limit."""


class TooSlow(Exception):
    """The body did not arrive within the deadline."""


@dataclass(order=True)
class _Alarm:
    deadline: float
    seq: int
    action: Callable[[], None] = field(compare=False)
    fired: bool = field(default=False, compare=False)
    cancelled: bool = field(default=False, compare=False)


class _Watchdog:
    """One daemon thread per process runs each armed action at its deadline unless it was cancelled first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[_Alarm] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, action: Callable[[], None]) -> _Alarm:
        alarm = _Alarm(deadline, next(self._seq), action)
        with self._cond:
            heapq.heappush(self._heap, alarm)
            if self._thread is None or not self._thread.is_alive():  # also after a fork: threads do not survive it
                self._thread = threading.Thread(target=self._run, name="body-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0] is alarm:
                # Wake the watchdog only when its next deadline moved earlier; with one timeout for every
                # request a new alarm is almost never first, and waking it per request cost a thread switch.
                self._cond.notify()
        return alarm

    def cancel(self, alarm: _Alarm) -> bool:
        """Cancel; True if the action had already run (under the same lock, so never half-way)."""
        with self._cond:
            alarm.cancelled = True
            return alarm.fired

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0].deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                alarm = heapq.heappop(self._heap)
                alarm.fired = True
                with contextlib.suppress(OSError):
                    alarm.action()


_watchdog = _Watchdog()


def _shut_reads(sock: socket.socket) -> Callable[[], None]:
    return lambda: sock.shutdown(socket.SHUT_RD)


def read(request: flask.Request, limit: int, timeout_seconds: float) -> bytes:
    """The whole body, at most `limit` bytes (else `TooLarge`), arrived within `timeout_seconds` (else
    `TooSlow`; the connection's read side is then shut, so answer and close)."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the body is {request.content_length} bytes; at most {limit} allowed")
    deadline = time.monotonic() + timeout_seconds
    sock = request.environ.get("gunicorn.socket")
    alarm = _watchdog.arm(deadline, _shut_reads(sock)) if isinstance(sock, socket.socket) else None
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = request.stream.read(min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if alarm is None and time.monotonic() > deadline:
                raise TooSlow(f"the body did not arrive within {timeout_seconds:g} s")
    except Exception as exc:
        if alarm is not None and _watchdog.cancel(alarm):
            raise TooSlow(f"the body did not arrive within {timeout_seconds:g} s") from exc
        raise
    if alarm is not None and _watchdog.cancel(alarm):
        raise TooSlow(f"the body did not arrive within {timeout_seconds:g} s")
    if size > limit:
        raise TooLarge(f"the body is over {limit} bytes")
    return b"".join(chunks)
