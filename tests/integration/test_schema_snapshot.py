"""supabase/schema.sql is what the migrations build: a schema change is a reviewed diff of that file, never a
surprise (tests/schema_snapshot.py makes and explains the file)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests import schema_snapshot


def test_the_committed_schema_file_is_what_the_migrations_build(server_url: str) -> None:
    # Its own database rather than the suite's template: on a plain PostgreSQL it gets Realtime's schema before
    # the migrations run, as a Supabase project has it, exactly as `--write` builds it.
    with schema_snapshot.migrated_database(server_url) as url, psycopg.connect(url, autocommit=True) as conn:
        actual = schema_snapshot.dump(conn)
        major = conn.info.server_version // 10000
    committed = schema_snapshot.SCHEMA_FILE.read_text(encoding="utf-8")
    if major != schema_snapshot.POSTGRES_MAJOR:  # e.g. the embedded server: it prints views its own way
        committed, actual = (schema_snapshot.without_view_definitions(text) for text in (committed, actual))
    changes = schema_snapshot.diff(committed, actual)
    if changes:
        pytest.fail(
            "supabase/schema.sql is not what the migrations build. If the migrations are right, regenerate the "
            f"file and commit it with them:\n  {schema_snapshot.REGENERATE}\n\n{changes}",
            pytrace=False,
        )


def test_the_schema_file_does_not_depend_on_the_day_it_is_made(conn: psycopg.Connection[Any]) -> None:
    before = schema_snapshot.dump(conn)
    # Months the migrations did not make today: a December (its range ends in the next year) and a March.
    conn.execute("select analytics_ensure_event_partitions_v1('1999-12-01', 1)")
    conn.execute("select analytics_ensure_event_partitions_v1('2090-03-01', 1)")
    assert schema_snapshot.dump(conn) == before


def test_a_schema_change_shows_up_in_the_schema_file(conn: psycopg.Connection[Any]) -> None:
    before = schema_snapshot.dump(conn)
    conn.execute("grant insert on analytics_rollups to authenticated")
    conn.execute("alter table analytics_events_default disable row level security")
    changes = schema_snapshot.diff(before, schema_snapshot.dump(conn))
    assert "+grant select, insert on table public.analytics_rollups to authenticated;" in changes
    assert "-alter table public.analytics_events_default enable row level security;" in changes
