from __future__ import annotations

from typing import Any

import psycopg
from psycopg import conninfo

from shared.core import migrations


def test_migrations_apply_from_empty_and_record_each_version_once(server_url: str) -> None:
    name = "wsa_mig_from_empty"
    with psycopg.connect(server_url, autocommit=True) as c:
        c.execute(f"drop database if exists {name} with (force)")
        c.execute(f"create database {name}")
    url = conninfo.make_conninfo(server_url, dbname=name)
    try:
        first = migrations.migrate(url)
        second = migrations.migrate(url)
        assert [m.version for m in first] == [m.version for m in migrations.discover()]
        assert second == []
        with psycopg.connect(url) as c:
            rows = c.execute("select version, name from supabase_migrations.schema_migrations order by 1").fetchall()
        assert rows == [(m.version, m.name) for m in migrations.discover()]
    finally:
        with psycopg.connect(server_url, autocommit=True) as c:
            c.execute(f"drop database if exists {name} with (force)")


def test_schema_has_the_tables_queues_and_functions_the_code_uses(conn: psycopg.Connection[Any]) -> None:
    tables = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'")}
    assert {
        "organizations",
        "api_keys",
        "analytics_event_keys",
        "analytics_dead_letters",
        "analytics_source_stats",
    } <= tables
    kind = conn.execute("select relkind from pg_class where relname = 'analytics_events'").fetchone()
    assert kind == ("p",)
    queue_names = {r[0] for r in conn.execute("select queue_name from pgmq.list_queues()")}
    assert {"ingest", "aggregate"} <= queue_names


def test_every_public_table_has_row_level_security_and_an_organization_column(
    conn: psycopg.Connection[Any],
) -> None:
    rows = conn.execute("""
        select c.relname, c.relrowsecurity,
               exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attnum > 0
                       and a.attname in ('organization_id') ) or c.relname = 'organizations'
               -- reference data that is nobody's: the ECB exchange rates (RLS on, no policy, no grants)
               or c.relname = 'fx_rates'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
    """).fetchall()
    assert rows
    for name, rls, has_org in rows:
        assert rls, f"{name} has no row-level security"
        assert has_org, f"{name} has no organization_id"


def test_partitions_exist_a_year_ahead_and_a_default_catches_the_rest(conn: psycopg.Connection[Any]) -> None:
    parts = {
        r[0]
        for r in conn.execute(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
            "where i.inhparent = 'public.analytics_events'::regclass"
        )
    }
    assert "analytics_events_default" in parts
    ahead = conn.execute("select to_char(now() + interval '12 months', '\"analytics_events_y\"YYYY\"m\"MM')").fetchone()
    assert ahead is not None and ahead[0] in parts


def test_creating_a_partition_moves_rows_out_of_the_default_partition(conn: psycopg.Connection[Any]) -> None:
    conn.execute("""insert into analytics_events (id, organization_id, event_id, event_type, schema_version,
        occurred_at, received_at, source) values (1, gen_random_uuid(), 'e', 'app.action', 1,
        '2090-03-05T00:00:00Z', now(), 'api')""")
    assert conn.execute("select count(*) from analytics_events_default").fetchone() == (1,)
    created = conn.execute("select analytics_ensure_event_partitions_v1('2090-03-01', 1)").fetchone()
    assert created == (1,)
    assert conn.execute("select count(*) from analytics_events_default").fetchone() == (0,)
    assert conn.execute("select count(*) from analytics_events_y2090m03").fetchone() == (1,)
