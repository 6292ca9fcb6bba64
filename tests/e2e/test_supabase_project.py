"""Every migration on a database built like a new Supabase project, then the pipeline end to end over HTTP, for
each pgmq a project can have: 1.4.4 (what Supabase ships), 1.5.1 (newer projects), 1.4.4 upgraded to 1.5.1 after
the migrations, and the SQL-only build of the pgmq PyPI package (the embedded server's).

Needs the Supabase-like cluster of tests/supabase/cluster.py (what CI runs on); elsewhere these tests say so and
skip, since no plain PostgreSQL has Supabase's roles, default privileges and pgmq 1.4.4.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import requests
from psycopg import sql

from shared.tools import runner
from tests import factories
from tests.supabase import database as supabase_database


def _wait_for(conn: psycopg.Connection[Any], query: str, expected: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = conn.execute(query).fetchone()
        if value == expected:
            return
        time.sleep(0.05)
    raise AssertionError(f"{query!r} gave {value}, expected {expected}")


@pytest.fixture
def new_project(server_url: str, supabase_like: bool, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(admin URL, app URL) of a database as a new Supabase project has it, nothing of ours applied yet."""
    if not supabase_like:
        pytest.skip("needs the Supabase-like cluster: python3 tests/supabase/cluster.py (as root), as .ci/run does")
    name = f"wsa_new_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        supabase_database.create_from_base(conn, name)
    supabase_database.add_realtime_partitions(psycopg.conninfo.make_conninfo(server_url, dbname=name))
    app = supabase_database.app_url(server_url, name)
    monkeypatch.setenv("DATABASE_URL", app)
    yield psycopg.conninfo.make_conninfo(server_url, dbname=name), app
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _migrate(app_url: str) -> None:
    """`wedsync-analytics migrate` as a user runs it against the project (as postgres, not a superuser)."""
    done = subprocess.run(
        [sys.executable, "-m", "shared.tools.cli", "migrate"],
        env={"DATABASE_URL": app_url, "PATH": ""},
        cwd=runner.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def _org(app_url: str) -> dict[str, Any]:
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.tools.cli",
            "org",
            "create",
            "--name",
            "Rose & Thorn",
            "--timezone",
            "Europe/London",
            "--currency",
            "GBP",
            "--json",
        ],
        env={"DATABASE_URL": app_url, "PATH": ""},
        cwd=runner.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    return dict(json.loads(created.stdout))


def _run_pipeline_over_http(app_url: str) -> None:
    org = _org(app_url)
    events = [factories.make_event(t) for t in ("inquiry.received", "booking.confirmed", "payment.succeeded")]
    pipeline = runner.start(app_url, poll_seconds=30.0)  # a long poll: the wake-ups must come from the triggers
    try:
        answer = requests.post(
            pipeline.url("ingest") + "/v1/events",
            json={"events": events},
            headers={"Authorization": f"Bearer {org['ingest_key']}"},
            timeout=10,
        )
        assert answer.status_code == 202 and answer.json()["accepted"] == 3, answer.text
        with psycopg.connect(app_url, autocommit=True) as conn:
            _wait_for(conn, "select count(*) from analytics_events", (3,))
            _wait_for(conn, "select count(distinct metric) >= 3 from analytics_rollups", (True,))
            _wait_for(
                conn, "select (select count(*) from pgmq.q_ingest) + (select count(*) from pgmq.q_aggregate)", (0,)
            )
        for name in pipeline.functions:
            health = requests.get(pipeline.url(name) + "/healthz", timeout=10).json()
            assert health["ok"] and health["migrations_current"], (name, health)
    finally:
        pipeline.stop()


def _pgmq_version(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("select extversion from pg_extension where extname = 'pgmq'").fetchone()
    return None if row is None else str(row[0])


def test_a_new_supabase_project_looks_like_one(new_project: tuple[str, str]) -> None:
    _, app = new_project
    with psycopg.connect(app) as conn:
        assert conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone() == (False,)
        grants = conn.execute(
            "select array_to_string(defaclacl, ',') from pg_default_acl a join pg_roles r on r.oid = a.defaclrole"
            " where r.rolname = 'postgres' and defaclobjtype = 'r' and defaclnamespace = 'public'::regnamespace"
        ).fetchone()
        assert grants is not None and "anon=arwdDxt" in grants[0]
        available = conn.execute("select default_version from pg_available_extensions where name = 'pgmq'").fetchone()
        assert available == ("1.4.4",)
        assert conn.execute("select to_regprocedure('realtime.send(jsonb, text, text, boolean)')").fetchone() != (None,)


def test_every_migration_applies_on_pgmq_1_4_4_and_the_pipeline_runs_over_http(new_project: tuple[str, str]) -> None:
    _, app = new_project
    _migrate(app)
    assert _pgmq_version(app) == "1.4.4"
    _run_pipeline_over_http(app)


def test_every_migration_applies_on_pgmq_1_5_1_and_the_pipeline_runs_over_http(new_project: tuple[str, str]) -> None:
    _, app = new_project
    with psycopg.connect(app, autocommit=True) as conn:
        conn.execute("create extension pgmq version '1.5.1'")
    _migrate(app)
    assert _pgmq_version(app) == "1.5.1"
    _run_pipeline_over_http(app)


def test_pgmq_upgraded_from_1_4_4_to_1_5_1_after_the_migrations_keeps_the_pipeline_running(
    new_project: tuple[str, str],
) -> None:
    _, app = new_project
    _migrate(app)
    with psycopg.connect(app, autocommit=True) as conn:
        conn.execute("alter extension pgmq update to '1.5.1'")
    assert _pgmq_version(app) == "1.5.1"
    _run_pipeline_over_http(app)


def test_every_migration_applies_on_the_pypi_sql_build_of_pgmq_and_the_pipeline_runs_over_http(
    new_project: tuple[str, str],
) -> None:
    _, app = new_project
    from pgmq.install import get_embedded_install_sql  # the build the embedded server uses

    with psycopg.connect(app, autocommit=True) as conn:
        conn.execute(get_embedded_install_sql())
    _migrate(app)
    assert _pgmq_version(app) is None  # not the extension: the SQL-only build
    _run_pipeline_over_http(app)
