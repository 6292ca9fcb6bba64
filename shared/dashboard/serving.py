"""Serving a dashboard answer as the viewer: one transaction under row-level security, and the answer cache.

Guarantees:
* Every query runs in one transaction as role `authenticated` with the caller's claims set
  (`request.jwt.claims`), so RLS limits it to the caller's organization even where SQL forgot to filter (the
  materialized views are read through organization-filtered views). The only read that leaves that role is the
  queue depths (not tenant data); see docs/dashboard.md.
* An answer is identified by (organization, data version, last view refresh, normalised question); the ETag is
  derived from it, so a cached answer or a 304 is never stale.
* The version and the numbers are read in one read-only REPEATABLE READ snapshot, on the read replica when
  DATABASE_READ_URL is set and the replica is fresh enough (`shared.core.replica`), else on the primary: an
  ETag never names data newer (or older) than the numbers it comes with. `Served` says which server answered
  and the data's as-of.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel

from shared.core import db, replica
from shared.dashboard import answercache, auth, questions
from shared.metrics import timeframes


@dataclass(frozen=True)
class OrgState:
    id: UUID
    data_version: int
    tz: ZoneInfo
    currency: str
    refreshed_at: datetime | None
    home_currency: str
    week_start: str

    @property
    def zone(self) -> timeframes.Org:
        """The organization as the metric layer takes it (read with the state: no second read of its row)."""
        return timeframes.Org(self.id, self.tz, self.currency, self.week_start, self.home_currency)

    @property
    def version(self) -> str:
        refreshed = self.refreshed_at.timestamp() if self.refreshed_at else 0
        return f"{self.data_version}.{refreshed:.6f}"


@contextlib.contextmanager
def as_viewer(viewer: auth.Viewer) -> Iterator[Connection[Any]]:
    """One transaction as role `authenticated` with the viewer's claims: RLS applies to every read."""
    with db.transaction(local=_viewer_locals(viewer)) as conn:
        yield conn


@contextlib.contextmanager
def read_as_viewer(viewer: auth.Viewer) -> Iterator[replica.Snapshot]:
    """As `as_viewer`, but one read-only snapshot that a read replica may serve (see `shared.core.replica`)."""
    with replica.snapshot(_viewer_locals(viewer)) as snap:
        yield snap


def _viewer_locals(viewer: auth.Viewer) -> dict[str, str]:
    # Set with the transaction's time limits in its first statement. JIT off: its compile time costs more than
    # it saves on these short queries; work_mem: room to hash distinct clients in memory. Role last.
    return {"request.jwt.claims": viewer.claims_json, "jit": "off", "work_mem": "32MB", "role": "authenticated"}


@contextlib.contextmanager
def owner_side(conn: Connection[Any]) -> Iterator[None]:
    """Leave the `authenticated` role for pipeline-wide reads that are not tenant rows (pgmq queue metrics)."""
    conn.execute("reset role")
    yield
    # Not in a `finally`: after an error the transaction rolls back, which restores the role anyway.
    conn.execute("set local role authenticated")


def state(conn: Connection[Any]) -> OrgState:
    row = db.fetch_one(conn, "dashboard_state", None, dict_row)
    if row is None:
        raise auth.AuthError(403, "the caller's organization does not exist")
    return OrgState(
        row["id"],
        int(row["data_version"]),
        ZoneInfo(row["timezone"]),
        row["currency"],
        row["refreshed_at"],
        row["home_currency"],
        timeframes.week_start_of(row["week_start"]),
    )


@dataclass(frozen=True)
class Served:
    status: int
    body: bytes
    etag: str | None
    cache: str  # "memory", "redis", "miss" or "none"
    days: tuple[date, date] | None = None  # the window's first and last local day, when the question has one
    source: replica.Source = "primary"  # the server whose snapshot gave the version (and the numbers, unless cached)
    as_of: datetime | None = None  # everything the primary had committed then is in that snapshot
    fallback: replica.Fallback | None = None  # why the primary served although a replica is configured


def to_json(answer: BaseModel, tz: ZoneInfo) -> bytes:
    return answer.model_dump_json().encode()


Compute = Callable[[Connection[Any], OrgState, Any], BaseModel]
Render = Callable[[BaseModel, ZoneInfo], bytes]


def serve(
    viewer: auth.Viewer,
    path: str,
    query: BaseModel,
    compute: Compute,
    if_none_match: str | None,
    *,
    cacheable: bool = True,
    render: Render = to_json,
    representation: str = "json",
) -> Served:
    """Answer `query` for the viewer: 304 when the client's ETag is current, a cached body when there is one,
    otherwise compute it (in the same RLS transaction that read the version), `render` it and cache it.
    The representation (json, csv) is part of the cache key, so each has its own ETag."""
    with read_as_viewer(viewer) as snap:
        conn = snap.conn
        org = state(conn)
        if isinstance(query, questions.Window):
            query._span = questions.resolve(query, org.tz, getattr(query, "interval", None))
        normal = json.dumps({"path": path, **query.model_dump(mode="json", by_alias=True)}, sort_keys=True)
        days = _local_days(query.span, org.tz) if isinstance(query, questions.Window) else None
        if not cacheable:
            return _served(snap, 200, render(compute(conn, org, query), org.tz), None, "none", days)
        # Relative defaults ("last 30 days") are resolved before keying, so the key changes at local midnight.
        window = (
            f"{query.span.start.isoformat()}/{query.span.end.isoformat()}"
            if isinstance(query, questions.Window)
            else ""
        )
        if isinstance(query, questions.WeddingsQuery):  # "due in the next N days" and pace move with the day
            window = datetime.now(org.tz).date().isoformat()
        k = answercache.key(str(org.id), org.version, normal, window, representation)
        etag = f'"{k[:32]}"'
        if if_none_match and (
            etag in [t.strip().removeprefix("W/") for t in if_none_match.split(",")] or if_none_match.strip() == "*"
        ):
            return _served(snap, 304, b"", etag, "none", days)
        hit = answercache.cache.get(k)
        if hit is not None:
            return _served(snap, 200, hit[0], etag, hit[1], days)
        body = render(compute(conn, org, query), org.tz)
    answercache.cache.put(k, body)
    return _served(snap, 200, body, etag, "miss", days)


def _served(
    snap: replica.Snapshot, status: int, body: bytes, etag: str | None, cache: str, days: tuple[date, date] | None
) -> Served:
    return Served(status, body, etag, cache, days, snap.source, snap.as_of, snap.fallback)


def _local_days(span: questions.Span, tz: ZoneInfo) -> tuple[date, date]:
    # The end is exclusive: the last day is the one holding the instant just before it.
    return span.start.astimezone(tz).date(), (span.end - timedelta(microseconds=1)).astimezone(tz).date()
