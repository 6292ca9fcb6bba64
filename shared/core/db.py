"""Database access: connections that work through Supabase's transaction pooler, and a per-process pool.

The pooler hands every transaction to any server connection, so nothing here relies on session state: no
prepared statements, and every limit or setting a transaction needs is set inside it with SET LOCAL semantics
(`set_config(name, value, true)`), which ends with the transaction instead of leaking to the next client.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import Connection, rows, sql
from psycopg.abc import Params
from psycopg_pool import ConnectionPool

from shared.core import errors, queries, settings

Row = TypeVar("Row")

_pools: dict[str, ConnectionPool[Connection[Any]]] = {}
_pools_lock = threading.Lock()
_operator: ContextVar[bool] = ContextVar("wedsync_operator_timeouts", default=False)


@dataclass(frozen=True)
class Timeouts:
    """The limits every transaction opened by `transaction()` runs under, in milliseconds (0: none)."""

    statement_ms: int
    idle_in_transaction_ms: int


def timeouts() -> Timeouts:
    """The functions' limits (DB_STATEMENT_TIMEOUT_MS, DB_IDLE_IN_TRANSACTION_TIMEOUT_MS), or inside
    `operator_timeouts()` the operator's statement limit (CLI_STATEMENT_TIMEOUT_MS)."""
    conf = settings.get_settings()
    statement = conf.cli_statement_timeout_ms if _operator.get() else conf.db_statement_timeout_ms
    return Timeouts(statement, conf.db_idle_in_transaction_timeout_ms)


@contextlib.contextmanager
def operator_timeouts() -> Iterator[None]:
    """Transactions opened inside (in this thread or task) use CLI_STATEMENT_TIMEOUT_MS: the operator's commands
    (rebuild, retention run, backfills) are long by design and watched by a person, so the limit that keeps a
    function's call from hanging on the database must not cut them off."""
    token = _operator.set(True)
    try:
        yield
    finally:
        _operator.reset(token)


def set_locals(conn: Connection[Any], values: Mapping[str, str]) -> None:
    """Set each setting for the rest of the current transaction only, in one round trip."""
    if not values:
        return
    conn.execute(_set_locals_query(tuple(values)), list(values.values()))


@functools.lru_cache(maxsize=64)
def _set_locals_query(names: tuple[str, ...]) -> bytes:
    # Composed once per set of names (the code's own, a handful): every transaction starts with this statement,
    # and composing it each time was about 5% of a single-event ingest request's Python (py-spy).
    calls = (sql.SQL("set_config({}, %s, true)").format(sql.Literal(name)) for name in names)
    return (sql.SQL("select ") + sql.SQL(", ").join(calls)).as_bytes(None)


def _configure(conn: Connection[Any]) -> None:
    # Supabase's transaction pooler (Supavisor/PgBouncer) hands each transaction to any server connection,
    # so server-side prepared statements must never be used.
    conn.prepare_threshold = None


# When each pooled connection last ended a transaction well: one just used is not probed again (see
# _check_unless_fresh). Stamped by transaction() and sent_together(), not by the pool's reset hook, which would
# hand every returned connection to a worker thread before it can be lent again.
_returned_at: weakref.WeakKeyDictionary[Connection[Any], float] = weakref.WeakKeyDictionary()
_FRESH_SECONDS = 1.0


def _check_unless_fresh(conn: Connection[Any]) -> None:
    """The pool's health probe (an empty query, one round trip) before lending a connection, skipped for one
    handed back less than a second ago: it answered then, and on a busy function the probe was one round trip
    in six of ingest's request. If the server dropped it in that second, the transaction fails with a transient
    error (the caller answers 503 and the client retries) and the pool discards it."""
    returned = _returned_at.get(conn)
    if returned is not None and time.monotonic() - returned < _FRESH_SECONDS:
        return
    ConnectionPool.check_connection(conn)


def database_url() -> str:
    """The URL of the database: DATABASE_URL, or the embedded server started on first use."""
    configured = settings.get_settings().database_url
    if configured:
        return configured
    from shared.core import embedded

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
                check=_check_unless_fresh,
                open=True,
                name="wedsync",
            )
            _pools[key] = existing
        return existing


@contextlib.contextmanager
def transaction(
    url: str | None = None,
    *,
    local: Mapping[str, str] | None = None,
    snapshot: bool = False,
    wait: float | None = None,
) -> Iterator[Connection[Any]]:
    """A pooled connection inside one transaction, committed on success; driver errors become ours.

    The transaction starts by setting its `timeouts()` (a statement past the limit is cancelled and raises
    DatabaseTimeout; a transaction left idle past its limit loses its connection) and any further `local`
    settings (the dashboard's role and claims), all in one statement. With `snapshot` it is READ ONLY and
    REPEATABLE READ: every statement sees the one snapshot taken by the first, so values read together (an
    answer's version and its numbers) agree. `wait` bounds the wait for a pooled connection (default 30 s).
    """
    limits = timeouts()
    values = {
        "statement_timeout": str(limits.statement_ms),
        "idle_in_transaction_session_timeout": str(limits.idle_in_transaction_ms),
        **(local or {}),
    }
    try:
        with pool(url).connection(timeout=wait) as conn:
            with _snapshot_mode(conn, snapshot), conn.transaction():
                set_locals(conn, values)
                yield conn
            _returned_at[conn] = time.monotonic()
    except psycopg.Error as exc:
        raise errors.from_driver(exc) from exc


@contextlib.contextmanager
def sent_together(url: str | None = None) -> Iterator[Connection[Any]]:
    """One transaction sent to the server in one round trip: BEGIN, the `timeouts()`, the caller's statements and
    COMMIT travel as one pipeline, and their results arrive when the block ends (read them after it).

    For the short, hot transactions where waiting for the server between statements costs more than the work
    (ingest's single events). A statement's result cannot steer the statements after it; a failed one rolls
    everything back and raises here, and a failed COMMIT raises too, so leaving the block means committed
    (synchronous_commit as configured: durable). COPY cannot run inside (libpq has no COPY in pipeline mode).
    """
    limits = timeouts()
    values = {
        "statement_timeout": str(limits.statement_ms),
        "idle_in_transaction_session_timeout": str(limits.idle_in_transaction_ms),
    }
    try:
        with pool(url).connection() as conn:
            with conn.pipeline(), conn.transaction():
                set_locals(conn, values)
                yield conn
            _returned_at[conn] = time.monotonic()
    except psycopg.Error as exc:
        raise errors.from_driver(exc) from exc


@contextlib.contextmanager
def _snapshot_mode(conn: Connection[Any], on: bool) -> Iterator[None]:
    # The mode goes into the BEGIN psycopg sends (one round trip, pooler-safe: it lasts one transaction) and is
    # taken off the pooled connection again, so the next borrower gets an ordinary transaction.
    if not on:
        yield
        return
    conn.isolation_level, conn.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
    try:
        yield
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.isolation_level, conn.read_only = None, None


def close_pools() -> None:
    """Close every pool of this process (tests, shutdown)."""
    with _pools_lock:
        for p in _pools.values():
            p.close()
        _pools.clear()


def _factory(row: type[Row] | rows.RowFactory[Row]) -> rows.RowFactory[Row]:
    return rows.class_row(row) if isinstance(row, type) else row


def fetch_all(
    conn: Connection[Any], query: str, params: Params | None, row: type[Row] | rows.RowFactory[Row]
) -> list[Row]:
    """Every row of the named query, each built by column name: `row` is a class (a frozen dataclass or a
    pydantic model whose fields are the query's column names) or a psycopg row factory such as `dict_row`."""
    with conn.cursor(row_factory=_factory(row)) as cur:
        return cur.execute(queries.get(query), params).fetchall()


def copy_rows(conn: Connection[Any], query: str, types: Sequence[str], values: Iterable[Sequence[Any]]) -> None:
    """Send rows through the named `COPY ... FROM STDIN (FORMAT BINARY)` query; `types` names each column's
    PostgreSQL type, in the query's column order."""
    with conn.cursor() as cur, cur.copy(queries.get(query)) as copy:
        copy.set_types(list(types))
        for row in values:
            copy.write_row(row)


def fetch_one(
    conn: Connection[Any], query: str, params: Params | None, row: type[Row] | rows.RowFactory[Row]
) -> Row | None:
    """The first row of the named query built by column name as in `fetch_all`, or None when it returned none."""
    with conn.cursor(row_factory=_factory(row)) as cur:
        return cur.execute(queries.get(query), params).fetchone()


def fetch_scalars(conn: Connection[Any], query: str, params: Params | None = None) -> list[Any]:
    """The first column of every row of the named query (a query that selects one value per row)."""
    return fetch_all(conn, query, params, rows.scalar_row)


def fetch_scalar(conn: Connection[Any], query: str, params: Params | None = None) -> Any:
    """The first column of the first row of the named query; None when it returned no row (or a NULL)."""
    return fetch_one(conn, query, params, rows.scalar_row)
