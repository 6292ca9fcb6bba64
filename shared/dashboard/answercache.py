"""Finished dashboard answers, keyed by organization, data version and the normalised question.

The key contains the organization's data version (bumped by every aggregate batch and rebuild) and the time of
its last view refresh, so a cached answer can never be stale: new data means a new key, and old keys simply age
out (LRU in memory, a TTL in Redis). Memory first, then Redis when REDIS_URL is set (shared by every instance).
A Redis outage never fails a request: the answer is computed instead.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from typing import Any, Literal

from shared.dashboard import settings as dashboard_settings

log = logging.getLogger(__name__)
Tier = Literal["memory", "redis"]
_REDIS_TTL_SECONDS = 24 * 3600


def key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class AnswerCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._redis: Any = None
        self._redis_url: str | None = None

    def _client(self) -> Any:
        url = dashboard_settings.get().redis_url
        if not url:
            return None
        if self._redis is None or self._redis_url != url:
            import redis

            self._redis = redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2)
            self._redis_url = url
        return self._redis

    def get(self, k: str) -> tuple[bytes, Tier] | None:
        with self._lock:
            body = self._memory.get(k)
            if body is not None:
                self._memory.move_to_end(k)
                return body, "memory"
        client = self._client()
        if client is None:
            return None
        try:
            found = client.get(f"wsa:dashboard:{k}")
        except Exception as exc:
            log.warning("redis get failed: %s", exc)
            return None
        if found is None:
            return None
        self._remember(k, found)
        return found, "redis"

    def put(self, k: str, body: bytes) -> None:
        self._remember(k, body)
        client = self._client()
        if client is not None:
            try:
                client.set(f"wsa:dashboard:{k}", body, ex=_REDIS_TTL_SECONDS)
            except Exception as exc:
                log.warning("redis set failed: %s", exc)

    def _remember(self, k: str, body: bytes) -> None:
        limit = dashboard_settings.get().dashboard_cache_entries
        with self._lock:
            self._memory[k] = body
            self._memory.move_to_end(k)
            while len(self._memory) > limit:
                self._memory.popitem(last=False)

    def clear(self) -> None:
        """Forget this process's answers (tests, benchmarks); Redis entries are left to their TTL."""
        with self._lock:
            self._memory.clear()


cache = AnswerCache()
