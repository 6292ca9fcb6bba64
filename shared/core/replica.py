"""Reads a read replica may serve: the dashboard's answers and the numbers of a report.

With DATABASE_READ_URL set, `snapshot()` opens its read-only REPEATABLE READ transaction on the replica when the
replica answers and is at most DATABASE_READ_MAX_LAG_SECONDS behind the primary, and on the primary otherwise
(saying why). Unset, it reads the primary, as every read did before. Writes never come here: they use
`db.transaction()`, which is always DATABASE_URL.

How far behind is measured by WAL position, not by `now() - pg_last_xact_replay_timestamp()`, which keeps
growing while the primary is idle although the replica then has everything. Each process samples the primary's
WAL insert position (at most once a second) and keeps the samples of the last lag bound; a replica that has
replayed position R holds everything the primary had committed when the newest sample at or below R was taken.
That instant is the snapshot's `as_of`, and `now - as_of` its lag. The replica's replay position is read at most
once a second too, always before the snapshot it vouches for: replay only moves forward, so a later snapshot
holds at least what that position holds.

Why an answer is never newer than its data: whatever identifies its version (the dashboard's ETag: data version
and last view refresh) is read in the same snapshot as its numbers, on whichever server serves them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from psycopg import Connection
from psycopg.rows import dict_row

from shared.core import db, errors, settings

log = logging.getLogger(__name__)
Source = Literal["primary", "replica"]
Fallback = Literal["replica_lagging", "replica_unreachable"]
SAMPLE_SECONDS = 1.0  # the oldest a cached WAL position (the primary's, the replica's) may be
RETRY_SECONDS = 5.0  # how long a replica that failed is left alone before it is tried again
CONNECT_WAIT_SECONDS = 2.0  # the longest a read waits for a replica connection before reading the primary


@dataclass(frozen=True)
class Snapshot:
    """One read-only REPEATABLE READ transaction: `conn` in it, the server that serves it, and `as_of`: everything
    the primary had committed at that instant is in the snapshot. `fallback` says why the primary serves
    although a replica is configured."""

    conn: Connection[Any]
    source: Source
    as_of: datetime
    fallback: Fallback | None = None


def vouched(samples: Iterable[tuple[float, datetime, int]], replayed: int) -> datetime | None:
    """The newest instant whose primary WAL position (samples: monotonic time, wall clock, position; oldest
    first) a replica that has replayed up to `replayed` has reached; None when it is behind every sample."""
    found = None
    for _, wall, position in samples:
        if position <= replayed:
            found = wall
    return found


class _Replica:
    """What this process knows of one replica: the primary's recent WAL positions and the replica's replay."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._primary: deque[tuple[float, datetime, int]] = deque()  # (monotonic, wall clock, position)
        self._replayed: tuple[float, int | None] | None = None  # (when read, position; None: not a standby)
        self._down_until = 0.0
        self._state = "replica"

    def check(self, max_lag: float) -> datetime | Fallback:
        """The replica's as-of when it may serve (reachable, within `max_lag`), else why not."""
        now = time.monotonic()
        with self._lock:
            if now < self._down_until:
                return "replica_unreachable"
            # The primary first: a replica that has replayed up to the position the primary had a moment ago
            # vouches for that moment, so a caught-up replica serves from the first request on.
            self._sample_primary(now, max_lag)
            try:
                replayed = self._replay_position(now)
            except errors.PipelineError as exc:
                self._down(now, exc)
                return "replica_unreachable"
            if replayed is None:  # not a standby (a URL of the primary itself): it has all it serves
                return datetime.now(UTC)
            as_of = vouched(self._primary, replayed)
        if as_of is None or (datetime.now(UTC) - as_of).total_seconds() > max_lag:
            return "replica_lagging"
        return as_of

    def down(self, exc: Exception) -> None:
        with self._lock:
            self._down(time.monotonic(), exc)

    def _down(self, now: float, exc: Exception) -> None:
        self._down_until = now + RETRY_SECONDS
        self._replayed = None
        log.warning("read replica unreachable, reading the primary for %.0f s: %s", RETRY_SECONDS, exc)

    def _replay_position(self, now: float) -> int | None:
        if self._replayed is None or now - self._replayed[0] >= SAMPLE_SECONDS:
            with db.transaction(self.url, wait=CONNECT_WAIT_SECONDS) as conn:
                row = db.fetch_one(conn, "wal_replay_position", None, dict_row)
            assert row is not None
            self._replayed = (now, int(row["replayed"]) if row["standby"] else None)
        return self._replayed[1]

    def _sample_primary(self, now: float, max_lag: float) -> None:
        if not self._primary or now - self._primary[-1][0] >= SAMPLE_SECONDS:
            wall = datetime.now(UTC)  # taken before the read: everything committed by then lies below it
            with db.transaction() as conn:
                position = int(db.fetch_scalar(conn, "wal_insert_position"))
            self._primary.append((now, wall, position))
        # Samples older than the bound can only vouch for an as-of past the bound: keep just the newest of them.
        while len(self._primary) > 1 and now - self._primary[1][0] > max_lag + SAMPLE_SECONDS:
            self._primary.popleft()

    def note(self, state: str) -> None:
        """Count what served a read; log when it changes (replica, or the reason the primary serves)."""
        _counts[state] += 1
        if state != self._state:
            (log.info if state == "replica" else log.warning)("reads now served by: %s", state)
            self._state = state


_replicas: dict[str, _Replica] = {}
_replicas_lock = threading.Lock()
_counts: Counter[str] = Counter()


def _replica(url: str) -> _Replica:
    with _replicas_lock:
        return _replicas.setdefault(url, _Replica(url))


def counts() -> dict[str, int]:
    """Reads served by this process so far: `replica`, `primary`, and each fallback reason."""
    return dict(_counts)


def forget() -> None:
    """Forget every replica's positions and state and the counts (tests)."""
    with _replicas_lock:
        _replicas.clear()
        _counts.clear()


@contextlib.contextmanager
def snapshot(local: Mapping[str, str] | None = None) -> Iterator[Snapshot]:
    """One read-only REPEATABLE READ transaction (with `local` settings, as `db.transaction`) on the replica when
    it may serve, else on the primary. A replica that cannot be reached (or refuses the transaction) is left
    alone for RETRY_SECONDS and the primary serves: an unreachable replica never fails a read. A replica that
    fails after the transaction has started fails that read, as the primary would."""
    conf = settings.get_settings()
    fallback: Fallback | None = None
    if conf.database_read_url:
        replica = _replica(conf.database_read_url)
        checked = replica.check(conf.database_read_max_lag_seconds)
        if isinstance(checked, datetime):
            with contextlib.ExitStack() as stack:
                try:
                    conn = stack.enter_context(
                        db.transaction(replica.url, local=local, snapshot=True, wait=CONNECT_WAIT_SECONDS)
                    )
                except errors.PipelineError as exc:
                    replica.down(exc)
                    checked = "replica_unreachable"
                else:
                    replica.note("replica")
                    yield Snapshot(conn, "replica", checked)
                    return
        fallback = checked
        replica.note(checked)
    _counts["primary"] += 1
    as_of = datetime.now(UTC)  # before the snapshot: everything committed by then is in it
    with db.transaction(local=local, snapshot=True) as conn:
        yield Snapshot(conn, "primary", as_of, fallback)
