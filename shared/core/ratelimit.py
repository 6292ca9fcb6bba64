"""Per-caller request rate limits: a token bucket per key (an API key, a user), kept in this process's memory.

Each bucket holds at most `burst` tokens and refills at `rate` tokens a second; a request takes one token or is
refused with the seconds until one is back (the `Retry-After` of the 429). The buckets are per process: with
several instances (Cloud Run scales out) each limits on its own, so a caller's ceiling is the rate times the
instances serving it; docs/limits.md.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per key, with the rate and burst given on each call (settings may change under tests).
    A `rate` <= 0 turns the limit off. Idle buckets are forgotten once full again, so memory stays bounded by
    the callers active in the last `burst / rate` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._next_sweep = clock()

    def take(self, key: str, rate: float, burst: int) -> float:
        """Take one token for `key`: 0.0 if the request may go ahead, otherwise the seconds until it may."""
        if rate <= 0:
            return 0.0
        burst = max(1, burst)
        now = self._clock()
        with self._lock:
            self._sweep(now, burst / rate)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(burst), now)
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _sweep(self, now: float, full_after: float) -> None:
        if now < self._next_sweep:
            return
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}
        self._next_sweep = now + full_after


def retry_after(wait_seconds: float) -> str:
    """The `Retry-After` value for a wait: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_seconds)))


_registry: dict[str, TokenBuckets] = {}
_registry_lock = threading.Lock()


def buckets(name: str) -> TokenBuckets:
    """The process's buckets called `name` (one set per limit: "ingest", "dashboard"), made on first use. Kept
    here rather than in a function's module: functions-framework may load an entry point twice under two names."""
    with _registry_lock:
        return _registry.setdefault(name, TokenBuckets())


def clear() -> None:
    """Forget every bucket (tests)."""
    with _registry_lock:
        for limit in _registry.values():
            limit.clear()
