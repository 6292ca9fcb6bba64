"""Helpers around tests/supabase_standins.sql: install the stand-ins, play pg_cron and pg_net's worker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import requests

STANDINS = Path(__file__).resolve().parent / "supabase_standins.sql"


@dataclass(frozen=True)
class Request:
    """One HTTP request the database asked pg_net to send."""

    id: int
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    timeout_milliseconds: int


def install(conn: psycopg.Connection[Any]) -> None:
    conn.execute(STANDINS.read_text(encoding="utf-8"))


def add_secret(conn: psycopg.Connection[Any], name: str, value: str) -> None:
    conn.execute("select vault.create_secret(%s, %s)", (value, name))


def jobs(conn: psycopg.Connection[Any]) -> dict[str, tuple[str, str]]:
    """{jobname: (schedule, command)} of every scheduled job."""
    return {r[0]: (r[1], r[2]) for r in conn.execute("select jobname, schedule, command from cron.job")}


def run_job(conn: psycopg.Connection[Any], jobname: str) -> None:
    """Run a job's command the way pg_cron does: as its own statement, in its own transaction."""
    row = conn.execute("select command from cron.job where jobname = %s", (jobname,)).fetchone()
    assert row is not None, f"no cron job {jobname}"
    with conn.transaction():
        conn.execute(row[0])


def take_requests(conn: psycopg.Connection[Any]) -> list[Request]:
    """The requests recorded and not yet sent, marked as sent (pg_net's worker picks each up once)."""
    rows = conn.execute(
        "update net.recorded_requests set sent_at = clock_timestamp() where sent_at is null "
        "returning id, method, url, headers, body, timeout_milliseconds"
    ).fetchall()
    return [Request(r[0], r[1], r[2], dict(r[3] or {}), r[4], r[5]) for r in sorted(rows)]


def send(conn: psycopg.Connection[Any], request: Request) -> requests.Response:
    """Send a recorded request exactly as pg_net would (JSON body, recorded headers); log its status."""
    answer = requests.request(
        request.method,
        request.url,
        data=json.dumps(request.body).encode(),
        headers=request.headers,
        timeout=request.timeout_milliseconds / 1000,
    )
    conn.execute("update net.recorded_requests set status_code = %s where id = %s", (answer.status_code, request.id))
    return answer
