"""Databases for the tests on a Supabase-like cluster (tests/supabase/cluster.py).

There, `supabase_admin` is the superuser that creates and drops the test databases, and everything the
pipeline does runs as `postgres`, which is not a superuser, exactly as on a Supabase project: migrations, the
functions, the CLI. Each template database is a clone of `supabase_base` (roles, default privileges, auth,
storage, realtime, pg_cron as a new project has them).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo, sql

from tests.supabase import realtime_schema

BASE = "supabase_base"
APP_USER = "postgres"


def is_supabase_like(server_url: str) -> bool:
    """True when the server is a cluster built by tests/supabase/cluster.py and we connect as its superuser."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        row = conn.execute(
            "select (select rolsuper from pg_roles where rolname = current_user)"
            " and exists (select 1 from pg_database where datname = %s)"
            " and exists (select 1 from pg_roles where rolname = 'supabase_admin')",
            (BASE,),
        ).fetchone()
    return bool(row and row[0])


def app_url(server_url: str, dbname: str) -> str:
    """The URL the pipeline uses: the project's `postgres` role, as Supabase hands it out."""
    return conninfo.make_conninfo(server_url, dbname=dbname, user=APP_USER)


def create_from_base(conn: psycopg.Connection[Any], name: str, template: str = BASE) -> None:
    """A new database cloned from `template` (by default: as a new Supabase project has it), owned by `postgres`."""
    conn.execute(
        sql.SQL("create database {} template {} owner {}").format(
            sql.Identifier(name), sql.Identifier(template), sql.Identifier(APP_USER)
        )
    )


# Roles Realtime's migrations grant to that a plain PostgreSQL lacks (the Supabase image creates them).
REQUIRED_ROLES = ("postgres", "dashboard_user")


def ensure_realtime_roles(admin: psycopg.Connection[Any]) -> None:
    """Roles are per cluster: create the ones Realtime's migrations name and the server lacks."""
    for role in REQUIRED_ROLES:
        if admin.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is None:
            # Another test process may create it first.
            with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                admin.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))


def apply_realtime_schema(conn: psycopg.Connection[Any], migrations_dir: Path) -> list[str]:
    """Build the realtime schema on a superuser connection, each statement in a savepoint as Ecto runs each
    migration in a transaction; returns what failed (file, statement, error)."""
    conn.execute("create schema if not exists realtime")
    conn.execute("set search_path to realtime, public, extensions")
    skipped = []
    for name, statement in realtime_schema.statements(migrations_dir):
        try:
            with conn.transaction():
                conn.execute(statement.encode())
        except psycopg.Error as exc:
            first = " ".join(statement.split())[:100]
            skipped.append(f"{name}: {first}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    conn.execute("reset search_path")
    return skipped


def create_realtime_partitions(
    conn: psycopg.Connection[Any], today: date, days_before: int = 2, days_after: int = 7
) -> None:
    """Daily partitions of realtime.messages around today, as the Realtime server keeps them (it creates them
    ahead of time; realtime.send does not, and swallows the error when one is missing)."""
    for offset in range(-days_before, days_after + 1):
        day = today + timedelta(days=offset)
        conn.execute(
            sql.SQL(
                "create table if not exists realtime.{} partition of realtime.messages for values from ({}) to ({})"
            ).format(
                sql.Identifier(f"messages_{day:%Y_%m_%d}"),
                sql.Literal(day.isoformat()),
                sql.Literal((day + timedelta(days=1)).isoformat()),
            )
        )


def add_realtime_partitions(admin_url: str) -> None:
    """The partitions of realtime.messages the Realtime server would have made around today."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        create_realtime_partitions(conn, datetime.now(UTC).date())
