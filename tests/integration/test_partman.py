"""Event partitions under pg_partman where the database has it, and our own SQL functions as the fallback.

The Supabase-like cluster's `postgres` is not a superuser and this server has no supautils, so the migration
cannot create pg_partman there and the template stays on the fallback. The pg_partman tests enable the extension
as the dashboard would (as the cluster's superuser, with the grants Supabase gives `postgres`) and then run the
same registration the migration runs, as `postgres`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import psycopg.sql
import pytest
from psycopg import conninfo

from shared.core import db, migrations
from shared.monitor import retention
from tests.quality_helpers import store_events

_ENABLE_PARTMAN = (
    "create schema if not exists partman",
    "create extension if not exists pg_partman schema partman",
    "grant all on schema partman to postgres",
    "grant all on all tables in schema partman to postgres",
    "grant all on all sequences in schema partman to postgres",
    "grant execute on all functions in schema partman to postgres",
    "grant execute on all procedures in schema partman to postgres",
)
_PARTITIONS = (
    "select c.relname, c.relrowsecurity, has_table_privilege('anon', c.oid, 'select'),"
    " has_table_privilege('authenticated', c.oid, 'select')"
    " from pg_inherits i join pg_class c on c.oid = i.inhrelid"
    " where i.inhparent = 'public.analytics_events'::regclass"
)


def _ranges(conn: psycopg.Connection[Any]) -> dict[datetime, str]:
    return {r[1]: r[0] for r in conn.execute("select name, range_from from analytics_event_partitions_v1()")}


def _enable_partman(server_url: str, conn: psycopg.Connection[Any]) -> None:
    admin_url = conninfo.make_conninfo(server_url, dbname=conn.info.dbname)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for statement in _ENABLE_PARTMAN:
            admin.execute(statement)


@pytest.fixture
def partman(server_url: str, supabase_like: bool, conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """The test database with pg_partman enabled and analytics_events registered with it (as `postgres`)."""
    if not supabase_like:
        pytest.skip("needs the Supabase-like cluster (tests/supabase/cluster.py)")
    _enable_partman(server_url, conn)
    assert conn.execute("select analytics_adopt_partman_v1()").fetchone() == ("pg_partman",)
    yield conn


def test_migration_stays_on_our_functions_where_postgres_cannot_create_pg_partman(
    supabase_like: bool, conn: psycopg.Connection[Any]
) -> None:
    if not supabase_like:
        pytest.skip("needs the Supabase-like cluster (tests/supabase/cluster.py)")
    assert conn.execute("select name from pg_available_extensions where name = 'pg_partman'").fetchone()
    assert conn.execute("select analytics_adopt_partman_v1(), analytics_partman_schema_v1()").fetchone() == (
        "own",
        None,
    )
    assert conn.execute("select analytics_ensure_event_partitions_v1('2091-04-01', 2)").fetchone() == (2,)
    names = set(_ranges(conn).values())
    assert {"analytics_events_y2091m04", "analytics_events_y2091m05"} <= names


def test_setting_forces_our_functions_even_with_pg_partman_installed(
    server_url: str, supabase_like: bool, conn: psycopg.Connection[Any]
) -> None:
    if not supabase_like:
        pytest.skip("needs the Supabase-like cluster (tests/supabase/cluster.py)")
    _enable_partman(server_url, conn)
    conn.execute("set wedsync.partition_manager = 'own'")
    assert conn.execute("select analytics_adopt_partman_v1(), analytics_partition_manager_v1()").fetchone() == (
        "own",
        "own",
    )
    assert conn.execute("select count(*) from partman.part_config").fetchone() == (0,)
    assert conn.execute("select analytics_ensure_event_partitions_v1('2092-01-01', 1)").fetchone() == (1,)
    assert "analytics_events_y2092m01" in set(_ranges(conn).values())
    assert [r for r in conn.execute(_PARTITIONS) if r[1:] != (True, False, False)] == []


def test_registration_keeps_existing_partitions_and_their_rows_with_the_same_interval_and_premake(
    server_url: str, supabase_like: bool, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    if not supabase_like:
        pytest.skip("needs the Supabase-like cluster (tests/supabase/cluster.py)")
    org = make_org()
    now = datetime.now(UTC)
    store_events(conn, org.id, occurred_at=now - timedelta(days=40), n=3)
    store_events(conn, org.id, occurred_at=datetime(2095, 6, 1, tzinfo=UTC), n=2)  # lands in the default partition
    before = _ranges(conn)
    _enable_partman(server_url, conn)

    assert conn.execute("select analytics_adopt_partman_v1()").fetchone() == ("pg_partman",)

    after = _ranges(conn)
    assert set(before) <= set(after)
    assert all(after[start] == f"analytics_events_p{start:%Y_%m}" for start in before)
    assert conn.execute(
        "select partition_interval, premake, automatic_maintenance, retention from partman.part_config"
        " where parent_table = 'public.analytics_events'"
    ).fetchone() == ("1 mon", 12, "off", None)
    assert conn.execute("select count(*) from analytics_events").fetchone() == (5,)
    assert conn.execute("select count(*) from analytics_events_default").fetchone() == (2,)
    assert [r for r in conn.execute(_PARTITIONS) if r[1:] != (True, False, False)] == []
    assert conn.execute("select analytics_adopt_partman_v1()").fetchone() == ("pg_partman",)  # idempotent


def test_partman_maintenance_from_the_retention_run_makes_future_partitions_with_row_level_security(
    partman: psycopg.Connection[Any],
) -> None:
    conn = partman
    ranges = _ranges(conn)
    newest = max(ranges)
    for start in sorted(ranges)[-3:]:  # the three furthest ahead go, as if the months had passed
        conn.execute(psycopg.sql.SQL("drop table {}").format(psycopg.sql.Identifier(ranges[start])))
    assert max(_ranges(conn)) < newest

    report = retention.run(db.transaction)

    remade = _ranges(conn)
    assert report.partition_manager == "pg_partman" and report.partitions_created == len(remade) - len(ranges) + 3
    # partman's run_maintenance keeps premake (12) months ahead of the current one and one more at a month's
    # turn, so at least what was there before the drop.
    assert max(remade) >= newest and newest in remade
    assert all(remade[start] == f"analytics_events_p{start:%Y_%m}" for start in remade if start >= newest)
    shown = {
        r[0] for r in conn.execute("select partition_tablename from partman.show_partitions('public.analytics_events')")
    }
    assert remade[newest] in shown
    assert [r for r in conn.execute(_PARTITIONS) if r[1:] != (True, False, False)] == []


def test_retention_drops_whole_old_partitions_partman_made(
    partman: psycopg.Connection[Any], make_org: Callable[..., Any]
) -> None:
    conn = partman
    org = make_org()
    now = datetime.now(UTC)
    ancient = (now - timedelta(days=800)).replace(day=15)
    conn.execute("select analytics_ensure_event_partitions_v1(%s::date, 1)", (ancient.date(),))  # partman's
    name = f"analytics_events_p{ancient:%Y_%m}"
    assert name in set(_ranges(conn).values())
    store_events(conn, org.id, occurred_at=ancient, n=4)
    store_events(conn, org.id, occurred_at=now - timedelta(days=5), n=1)

    report = retention.run(db.transaction, now=now)

    assert report.partitions_dropped == [name] and report.rows_in_dropped_partitions == 4
    assert report.rows_deleted == {}
    assert name not in set(_ranges(conn).values())
    assert conn.execute("select count(*) from analytics_events").fetchone() == (1,)


PLAIN_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def plain_database() -> Iterator[psycopg.Connection[Any]]:
    """A database on the plain PostgreSQL 15 beside the Supabase-like cluster (where `postgres` is a superuser and
    so may create pg_partman, as Supabase's own admin does), migrated from nothing, dropped afterwards."""
    try:
        with psycopg.connect(PLAIN_SERVER, autocommit=True) as c:
            if not c.execute("select 1 from pg_available_extensions where name = 'pg_partman'").fetchone():
                pytest.skip("needs Debian's postgresql-15-partman on the plain server (.ci/run installs it)")
            name = f"wsa_partman_{uuid.uuid4().hex[:10]}"
            c.execute(psycopg.sql.SQL("create database {}").format(psycopg.sql.Identifier(name)))
    except psycopg.OperationalError:
        pytest.skip(f"needs plain PostgreSQL 15 at {PLAIN_SERVER}")
    url = conninfo.make_conninfo(PLAIN_SERVER, dbname=name)
    try:
        migrations.migrate(url)
        with psycopg.connect(url, autocommit=True) as c:
            yield c
    finally:
        with psycopg.connect(PLAIN_SERVER, autocommit=True) as c:
            c.execute(psycopg.sql.SQL("drop database if exists {} with (force)").format(psycopg.sql.Identifier(name)))


def test_migration_registers_with_pg_partman_where_the_migrating_role_may_create_it(
    plain_database: psycopg.Connection[Any],
) -> None:
    conn = plain_database
    assert conn.execute("select analytics_partition_manager_v1(), analytics_partman_schema_v1()").fetchone() == (
        "pg_partman",
        "partman",
    )
    assert {f"analytics_events_p{start:%Y_%m}" for start in _ranges(conn)} == set(_ranges(conn).values())
    assert [r for r in conn.execute(_PARTITIONS) if r[1:] != (True, False, False)] == []
