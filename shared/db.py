"""Database access: connections that work through Supabase's transaction pooler, and a per-process pool."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import Connection
from psycopg_pool import ConnectionPool

from shared import errors, settings

_pools: dict[str, ConnectionPool[Connection[Any]]] = {}
_pools_lock = threading.Lock()


def _configure(conn: Connection[Any]) -> None:
    # Supabase's transaction pooler (Supavisor/PgBouncer) hands each transaction to any server connection,
    # so server-side prepared statements must never be used.
    conn.prepare_threshold = None


def database_url() -> str:
    """The URL of the database: DATABASE_URL, or the embedded server started on first use."""
    configured = settings.get_settings().database_url
    if configured:
        return configured
    from shared import embedded

    return embedded.ensure_running(settings.get_settings().wedsync_data_dir)


def connect(url: str | None = None, *, autocommit: bool = False) -> Connection[Any]:
    """A fresh connection (for scripts, the migration runner and LISTEN); converts driver errors."""
    try:
        conn = psycopg.connect(url or database_url(), autocommit=autocommit, prepare_threshold=None)
    except psycopg.Error as exc:
        raise errors.from_driver(exc) from exc
    return conn


def pool(url: str | None = None) -> ConnectionPool[Connection[Any]]:
    """The process-wide pool for this URL, opened on first use. Functions keep it across invocations."""
    key = url or database_url()
    with _pools_lock:
        existing = _pools.get(key)
        if existing is None:
            existing = ConnectionPool(
                key,
                min_size=1,
                max_size=settings.get_settings().db_pool_max_size,
                kwargs={"prepare_threshold": None},
                configure=_configure,
                check=ConnectionPool.check_connection,
                open=True,
                name="wedsync",
            )
            _pools[key] = existing
        return existing


@contextlib.contextmanager
def transaction(url: str | None = None) -> Iterator[Connection[Any]]:
    """A pooled connection inside one transaction, committed on success; driver errors become ours."""
    try:
        with pool(url).connection() as conn, conn.transaction():
            yield conn
    except psycopg.Error as exc:
        raise errors.from_driver(exc) from exc


def close_pools() -> None:
    """Close every pool of this process (tests, shutdown)."""
    with _pools_lock:
        for p in _pools.values():
            p.close()
        _pools.clear()
