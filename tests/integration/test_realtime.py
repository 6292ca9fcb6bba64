"""Change notices on Supabase Realtime, checked in SQL as the users Realtime acts for.

On the Supabase-like cluster (tests/supabase/cluster.py) every test database already has Realtime's schema and
partitions, and our migrations ran after it, as on a project. On a plain PostgreSQL the fixture builds Realtime's
schema from the upstream tenant migrations (tests/supabase/realtime_schema.py) and the partitions the Realtime server
would create, then runs our Realtime migration again, now that there is something for it to act on. Realtime
authorises a private channel by running, as the joining user (role, `request.jwt.claims`, `realtime.topic`), a
SELECT of a broadcast row of that topic from realtime.messages; the helpers below do the same, on a superuser
connection as Realtime's own is, so a wrong policy fails these tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import conninfo
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from shared.aggregate import aggregation
from shared.core import db, migrations, settings
from shared.validate import validation
from tests import factories
from tests.supabase import database as supabase_database
from tests.supabase import realtime_schema, reference

MIGRATION = next(m for m in migrations.discover() if m.name == "realtime_authorization")
_MIGRATIONS = reference.root() / "realtime" / "tenant-migrations"


def _admin_url(server_url: str, database_url: str) -> str:
    return conninfo.make_conninfo(server_url, dbname=conninfo.conninfo_to_dict(database_url)["dbname"])


@pytest.fixture
def realtime(server_url: str, database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A superuser connection to the per-test database, which has Realtime's schema, partitions around today
    and our policy."""
    with psycopg.connect(_admin_url(server_url, database_url), autocommit=True) as admin:
        if admin.execute("select to_regclass('realtime.messages')").fetchone() == (None,):
            supabase_database.ensure_realtime_roles(admin)
            supabase_database.apply_realtime_schema(admin, _MIGRATIONS)
            supabase_database.create_realtime_partitions(admin, datetime.now(UTC).date(), 1, 1)
            admin.execute(MIGRATION.read().encode())
        yield admin


@pytest.fixture
def fresh_database(server_url: str, supabase_like: bool) -> Iterator[str]:
    """An empty database (a new project's, on the Supabase-like cluster), dropped afterwards."""
    name = f"wsa_rt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        if supabase_like:
            supabase_database.create_from_base(admin, name)
        else:
            admin.execute(psycopg.sql.SQL("create database {}").format(psycopg.sql.Identifier(name)))
    yield name
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("drop database if exists {} with (force)").format(psycopg.sql.Identifier(name)))


def _claims(org: Any, *, where: str = "top") -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": "00000000-0000-4000-8000-000000000001",
        "role": "authenticated",
        "aud": "authenticated",
    }
    if where == "top":
        claims["organization_id"] = str(org)
    else:
        claims["app_metadata"] = {"organization_id": str(org)}
    return claims


def _as_user(conn: psycopg.Connection[Any], role: str, claims: dict[str, Any] | None, topic: str) -> None:
    """What Realtime's Authorization.set_conn_config does at the start of its check transaction."""
    conn.execute(
        "select set_config('role', %s, true), set_config('realtime.topic', %s, true), "
        "set_config('request.jwt.claims', %s, true)",
        (role, topic, json.dumps(claims) if claims is not None else ""),
    )


def _received(conn: psycopg.Connection[Any], role: str, claims: dict[str, Any] | None, topic: str) -> list[Any]:
    """The notices a user reads from realtime.messages for a channel topic (every row the policy lets through)."""
    with conn.transaction(force_rollback=True):
        _as_user(conn, role, claims, topic)
        rows = conn.execute("select topic, event, private, payload from realtime.messages").fetchall()
    return rows


def _can_join(
    conn: psycopg.Connection[Any], role: str, claims: dict[str, Any] | None, topic: str, extension: str = "broadcast"
) -> bool:
    """Realtime's read check for a private channel: a probe row of the topic and extension, inserted by
    Realtime itself, must be visible to the user; rolled back afterwards, as Realtime does."""
    with conn.transaction(force_rollback=True):
        row = conn.execute(
            "insert into realtime.messages (topic, extension) values (%s, %s) returning id", (topic, extension)
        ).fetchone()
        assert row is not None
        _as_user(conn, role, claims, topic)
        seen = conn.execute(
            "select id from realtime.messages where topic = %s and extension = %s and id = %s",
            (topic, extension, row[0]),
        ).fetchall()
    return len(seen) == 1


def _publish_through_the_pipeline(ingest_app: Any, org: Any, event_type: str = "booking.confirmed") -> None:
    answer = ingest_app.post(
        "/v1/events",
        data=json.dumps({"events": [factories.make_event(event_type)]}),
        headers={"Authorization": f"Bearer {org.ingest_key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.json
    assert not validation.drain(db.transaction)[1]
    assert not aggregation.drain(db.transaction)[1]


def test_the_upstream_realtime_migrations_apply_without_a_skipped_statement(
    server_url: str, fresh_database: str, supabase_like: bool
) -> None:
    with psycopg.connect(conninfo.make_conninfo(server_url, dbname=fresh_database), autocommit=True) as admin:
        if supabase_like:  # a new project's database has Realtime already: start from none
            admin.execute("drop schema realtime cascade")
        supabase_database.ensure_realtime_roles(admin)
        assert supabase_database.apply_realtime_schema(admin, _MIGRATIONS) == []
        assert admin.execute(
            "select to_regprocedure('realtime.send(jsonb, text, text, boolean)') is not null, "
            "to_regprocedure('realtime.topic()') is not null"
        ).fetchone() == (True, True)
        kind, rls = admin.execute(
            "select relkind, relrowsecurity from pg_class where oid = 'realtime.messages'::regclass"
        ).fetchone() or (None, None)
    assert (kind, rls) == ("p", True)  # partitioned by inserted_at, row-level security on


def test_the_loader_reads_up_and_change_but_never_down(tmp_path: Path) -> None:
    (tmp_path / "20240101000000_example.ex").write_text('''defmodule Example do
  use Ecto.Migration

  def up do
    "a bare string: Elixir evaluates it and runs nothing"
    execute("GRANT SELECT ON realtime.things TO \\"anon\\"")
    execute ~S"""
    SELECT '\\d'
    """
    execute """
    SELECT 'a\\\\b'
    """
  end

  def down do
    execute("DROP TABLE realtime.things")
  end
end
''')
    assert [s for _, s in realtime_schema.statements(tmp_path)][1:] == [
        'GRANT SELECT ON realtime.things TO "anon"',
        "SELECT '\\d'",
        "SELECT 'a\\b'",
    ]


def test_a_change_notice_reaches_only_the_users_of_its_organization(
    realtime: psycopg.Connection[Any],
    ingest_app: Any,
    make_org: Callable[..., Any],
) -> None:
    conn = realtime
    a, b = make_org(name="A"), make_org(name="B")
    _publish_through_the_pipeline(ingest_app, a)
    conn.execute(
        "select public.analytics_publish_change_v1(%s, %s)",  # B has a notice of its own too
        (b.id, Jsonb({"organization_id": str(b.id), "data_version": 9})),
    )
    topic_a, topic_b = f"analytics:{a.id}", f"analytics:{b.id}"

    for claims in (_claims(a.id), _claims(a.id, where="app_metadata")):
        [(topic, event, private, payload)] = _received(conn, "authenticated", claims, topic_a)
        assert (topic, event, private) == (topic_a, "analytics_changes", True)
        assert payload["organization_id"] == str(a.id) and payload["data_version"] == 1
        assert payload["kind"] == "aggregate" and payload["events"] == 1
    assert _received(conn, "authenticated", _claims(a.id), topic_b) == []
    assert _received(conn, "authenticated", _claims(b.id), topic_a) == []
    assert [row[3]["data_version"] for row in _received(conn, "authenticated", _claims(b.id), topic_b)] == [9]
    assert _received(conn, "anon", _claims(a.id), topic_a) == []
    assert _received(conn, "anon", None, topic_a) == []
    assert _received(conn, "authenticated", {"sub": "x", "role": "authenticated"}, topic_a) == []


def test_a_user_may_join_only_the_private_channel_of_their_organization_and_never_broadcast_on_it(
    realtime: psycopg.Connection[Any],
    make_org: Callable[..., Any],
) -> None:
    conn = realtime
    a, b = make_org(name="A"), make_org(name="B")
    topic_a = f"analytics:{a.id}"
    assert _can_join(conn, "authenticated", _claims(a.id), topic_a)
    assert _can_join(conn, "authenticated", _claims(a.id, where="app_metadata"), topic_a)
    assert not _can_join(conn, "authenticated", _claims(b.id), topic_a)
    assert not _can_join(conn, "authenticated", _claims(a.id), f"analytics:{b.id}")
    assert not _can_join(conn, "authenticated", _claims(a.id), f"other:{a.id}")
    assert not _can_join(conn, "anon", _claims(a.id), topic_a)
    assert not _can_join(conn, "authenticated", None, topic_a)
    assert not _can_join(conn, "authenticated", _claims(a.id), topic_a, extension="presence")  # broadcast only
    # Realtime's write check inserts as the user: no INSERT policy, so no user publishes on the channel.
    with conn.transaction(force_rollback=True), pytest.raises(pg_errors.InsufficientPrivilege):
        _as_user(conn, "authenticated", _claims(a.id), topic_a)
        conn.execute(
            "insert into realtime.messages (topic, extension, payload) values (%s, 'broadcast', '{}')", (topic_a,)
        )


def test_a_batch_commits_even_when_realtime_has_no_partition_for_today(
    realtime: psycopg.Connection[Any],
    conn: psycopg.Connection[Any],
    ingest_app: Any,
    make_org: Callable[..., Any],
) -> None:
    """realtime.send swallows its own errors (a WARNING, nothing stored): the notice is lost, never the batch,
    and the data version the dashboard follows still moves."""
    for (partition,) in realtime.execute(
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
        "where i.inhparent = 'realtime.messages'::regclass"
    ).fetchall():
        realtime.execute(psycopg.sql.SQL("drop table {}").format(psycopg.sql.Identifier("realtime", partition)))
    org = make_org()
    _publish_through_the_pipeline(ingest_app, org)
    assert conn.execute("select data_version from organizations where id = %s", (org.id,)).fetchone() == (1,)
    assert conn.execute(
        "select sum(events) from analytics_rollups where organization_id = %s and metric = 'booking.confirmed'",
        (org.id,),
    ).fetchone() == (1,)
    assert realtime.execute("select count(*) from realtime.messages").fetchone() == (0,)


def test_our_migrations_create_the_policy_on_a_project_where_realtime_came_first(
    server_url: str, fresh_database: str, supabase_like: bool, app_url_for: Callable[[str], str]
) -> None:
    if not supabase_like:  # on the cluster a new project's database has Realtime's schema already
        with psycopg.connect(conninfo.make_conninfo(server_url, dbname=fresh_database), autocommit=True) as admin:
            supabase_database.ensure_realtime_roles(admin)
            supabase_database.apply_realtime_schema(admin, _MIGRATIONS)
    migrations.migrate(app_url_for(fresh_database))  # as the project's own role
    with psycopg.connect(app_url_for(fresh_database), autocommit=True) as conn:
        policies = conn.execute(
            "select policyname, cmd, roles::text[] from pg_policies "
            "where schemaname = 'realtime' and tablename = 'messages'"
        ).fetchall()
    assert policies == [("analytics_changes_receive", "SELECT", ["authenticated"])]


def _stream_until_change(answer: Any) -> Iterator[str]:
    for chunk in answer.response:
        text = chunk.decode()
        yield text
        if text.startswith("event: change"):
            return


def test_the_live_feed_delivers_a_pipeline_change_without_listen_or_notify(
    realtime: psycopg.Connection[Any],
    dashboard_app: Any,
    ingest_app: Any,
    make_org: Callable[..., Any],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As on Supabase: notices go to Realtime (no pg_notify exists to hear) and the feed reads through the pool."""
    monkeypatch.setenv("DASHBOARD_LIVE_POLL_MS", "20")
    monkeypatch.setenv("DASHBOARD_LIVE_MAX_SECONDS", "30")  # bounds the wait if the change never came
    settings.clear_cache()
    org = make_org()
    heard: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.add_notify_handler(lambda n: heard.append(n.payload))
        listener.execute("listen analytics_changes")
        answer = dashboard_app.get(
            "/v1/events/live", headers={"Authorization": f"Bearer {org.read_key}"}, buffered=False
        )
        assert answer.status_code == 200
        stream = _stream_until_change(answer)
        assert next(stream).startswith("retry: 3000")
        _publish_through_the_pipeline(ingest_app, org)
        *_, change = stream
        # While the stream is open: no session of this database but the test's own listener ever ran LISTEN.
        listening = realtime.execute(
            "select count(*) from pg_stat_activity where datname = current_database() and query ilike 'listen%%' "
            "and pid <> %s",
            (listener.info.backend_pid,),
        ).fetchone()
        answer.close()
        listener.execute("select 1")  # lets a pending notification arrive, if there were one
    assert change == (f'event: change\nid: 1\ndata: {{"organization_id":"{org.id}","data_version":1}}\n\n')
    assert listening == (0,) and heard == []
    assert realtime.execute(
        "select count(*) from realtime.messages where topic = %s", (f"analytics:{org.id}",)
    ).fetchone() == (1,)  # the notice went to Realtime
