"""The schema as an artefact: `supabase/schema.sql`, our objects in a migrated database, read from the catalogs.

    DATABASE_URL=... python -m tests.schema_snapshot --write   # regenerate supabase/schema.sql
    python -m tests.schema_snapshot --url postgresql://...     # print what an existing database has

tests/integration/test_schema_snapshot.py compares the file with a freshly migrated database, so a migration
that changes the schema shows up in review as a diff of this file, and a database that drifted from the
migrations (`--url` against a project) shows up as a diff too. The file describes, it does not recreate:
function bodies are hashed (their source is the migration), and what the platform decides is left out (see
tests/schema_catalog.py), so the same file holds on the Supabase-like cluster, a plain PostgreSQL and the embedded one.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import conninfo, sql

from shared.core import embedded, migrations
from shared.tools import runner
from tests import schema_catalog as catalog
from tests.supabase import database as supabase_database
from tests.supabase import reference

SCHEMA_FILE = runner.ROOT / "supabase" / "schema.sql"
# Production's major version (Supabase; CI's clusters too). Other majors print view definitions differently
# (PostgreSQL 16 leaves out the table names of a single-table query), so the file is written from this one.
POSTGRES_MAJOR = 15
REGENERATE = "DATABASE_URL=postgresql://supabase_admin@127.0.0.1:5433/postgres python -m tests.schema_snapshot --write"

_HEADER = f"""\
-- The database after every migration in supabase/migrations, as read from its catalogs: our objects only
-- (public.analytics_*, organizations, api_keys, the schema analytics_invoke, pgmq's queues and the triggers on
-- their tables, our policy on realtime.messages). Generated from PostgreSQL {POSTGRES_MAJOR}; do not edit, regenerate:
--   {REGENERATE}
-- tests/integration/test_schema_snapshot.py compares it with a freshly migrated database
-- (docs/architecture-schema.md). A description, not a script: a function's body is the sha256 of its source (the
-- source is in the migration); owners, grantors and service_role's privileges are left out (the platform
-- decides them: tests/schema_catalog.py says why); monthly event partitions appear once, dated YYYY and MM.
"""


def dump(conn: psycopg.Connection[Any]) -> str:
    """The schema file's text for the database behind `conn`: the same for the same migrations, whatever the
    day, the cluster or the order objects were created in."""
    return _HEADER + catalog.render(conn)


@contextlib.contextmanager
def migrated_database(server_url: str) -> Iterator[str]:
    """A new database shaped like a Supabase project's and migrated by our runner as the app role; yields the
    app's URL and drops the database afterwards.

    On the Supabase-like cluster it is a clone of `supabase_base`, as the test suite's template is. On a plain
    PostgreSQL it gets Realtime's schema (from the upstream tenant migrations) before our migrations run, as a
    project has it, so the Realtime policy exists there too and the snapshot is the same file on both.
    """
    name = f"wsa_schema_{uuid.uuid4().hex[:12]}"
    supabase_like = supabase_database.is_supabase_like(server_url)
    admin_url = conninfo.make_conninfo(server_url, dbname=name)
    with psycopg.connect(server_url, autocommit=True) as admin:
        if supabase_like:
            supabase_database.create_from_base(admin, name)
        else:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        if supabase_like:
            app_url = supabase_database.app_url(server_url, name)
        else:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                supabase_database.ensure_realtime_roles(admin)
                failed = supabase_database.apply_realtime_schema(
                    admin, reference.root() / "realtime" / "tenant-migrations"
                )
                if admin.execute("select to_regclass('realtime.messages')").fetchone() == (None,):
                    raise RuntimeError("Realtime's schema could not be built:\n" + "\n".join(failed))
            app_url = admin_url
        migrations.migrate(app_url)
        yield app_url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


_VIEW = re.compile(r"^(create (?:materialized )?view .* as)\n(?:.*\n)*?.*;$", re.MULTILINE)


def without_view_definitions(text: str) -> str:
    """The dump with each view's query left out: what can be compared on a server of another major version,
    which prints the same view differently."""
    return _VIEW.sub(rf"\1\n    -- (query left out: compared on PostgreSQL {POSTGRES_MAJOR} only)", text)


def diff(expected: str, actual: str) -> str:
    """A unified diff from the committed file to the database, as a reviewer reads it."""
    return "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            "supabase/schema.sql (committed)",
            "migrated database",
        )
    )


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return embedded.ensure_running(tempfile.mkdtemp(prefix="wedsync-schema-pg-"), throwaway=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.schema_snapshot", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="dump this (migrated) database instead of migrating a new one")
    parser.add_argument("--write", action="store_true", help=f"write {SCHEMA_FILE.relative_to(runner.ROOT)}")
    parser.add_argument("--check", action="store_true", help="compare with the committed file; exit 1 on a diff")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(migrated_database(_server_url()))
        with psycopg.connect(url, autocommit=True) as conn:
            text = dump(conn)
            major = conn.info.server_version // 10000
    if args.write and major != POSTGRES_MAJOR:
        print(f"{SCHEMA_FILE.name} is written from PostgreSQL {POSTGRES_MAJOR} (this server is {major}): {REGENERATE}")
        return 2
    if major != POSTGRES_MAJOR:
        text = without_view_definitions(text)
        print(f"-- PostgreSQL {major}: view queries left out", file=sys.stderr)
    if args.write:
        SCHEMA_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_FILE}")
    elif args.check:
        committed = SCHEMA_FILE.read_text(encoding="utf-8")
        changes = diff(committed if major == POSTGRES_MAJOR else without_view_definitions(committed), text)
        print(changes or "the database matches supabase/schema.sql", end="" if changes else "\n")
        return 1 if changes else 0
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
