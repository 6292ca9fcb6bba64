"""Organization API keys: generated here, shown once, stored as SHA-256 hashes, scoped and revocable."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection

from shared.core import db, queries, settings

Scope = Literal["ingest", "read", "admin"]
_PREFIX = "wsk_"


@dataclass(frozen=True)
class NewKey:
    id: UUID
    key: str
    prefix: str


@dataclass(frozen=True)
class _KeyRow:
    id: UUID
    organization_id: UUID
    scopes: list[str]
    timezone: str
    currency: str


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's organization, its scopes, and the organization's zone and currency."""

    key_id: UUID
    organization_id: UUID
    scopes: frozenset[str]
    timezone: ZoneInfo
    currency: str


def hash_key(key: str) -> bytes:
    # Keys carry 190 bits of randomness, so a plain SHA-256 is enough: nothing to brute-force.
    return hashlib.sha256(key.encode()).digest()


def create(conn: Connection[Any], organization_id: UUID, scopes: list[Scope], name: str = "") -> NewKey:
    """Mint a key. The returned `key` is the only time it exists in clear."""
    prefix = _PREFIX + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(24)}"
    key_id = db.fetch_scalar(
        conn,
        "create_api_key",
        {
            "organization_id": organization_id,
            "name": name,
            "prefix": prefix,
            "key_hash": hash_key(key),
            "scopes": list(scopes),
        },
    )
    assert key_id is not None
    return NewKey(key_id, key, prefix)


def revoke(conn: Connection[Any], prefix: str) -> bool:
    """Revoke by visible prefix; True if a live key was revoked."""
    return db.fetch_scalar(conn, "revoke_api_key", {"prefix": prefix}) is not None


class KeyCache:
    """Verified keys kept for a short time so a busy ingest does not look each one up per request.

    A revoked key stops working within `api_key_cache_seconds`. Unknown keys are not cached, so a new key
    works at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[bytes, tuple[float, Caller]] = {}

    def lookup(self, conn_factory: Any, key: str) -> Caller | None:
        digest = hash_key(key)
        ttl = settings.get_settings().api_key_cache_seconds
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(digest)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        with conn_factory() as conn:
            row = db.fetch_one(conn, "find_api_key", {"key_hash": digest}, _KeyRow)
            if row is None:
                with self._lock:
                    self._entries.pop(digest, None)
                return None
            conn.execute(queries.get("touch_api_key"), {"id": row.id})
        caller = Caller(row.id, row.organization_id, frozenset(row.scopes), ZoneInfo(row.timezone), row.currency)
        with self._lock:
            self._entries[digest] = (now, caller)
        return caller

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# The process-wide cache every HTTP function uses; tests clear it to see a revocation at once.
cache = KeyCache()
