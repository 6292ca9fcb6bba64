"""The migration runner: applies `supabase/migrations/*.sql` in order, each exactly once, under an advisory lock.

Applied versions are recorded in `supabase_migrations.schema_migrations`, the table the Supabase CLI keeps,
so a database migrated here and one pushed with `supabase db push` agree on what has run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import Connection, rows, sql

from shared.core import db, settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
_FILE = re.compile(r"^(?P<version>\d{14})_(?P<name>[a-z0-9_]+)\.sql$")
# Any constant will do as long as every runner uses the same one.
_LOCK_KEY = 0x5745_4453_594E_43  # "WEDSYNC"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    def read(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file, ordered by version; a misnamed .sql file is an error, not silently skipped, and so
    is a missing folder (a wheel install does not carry supabase/migrations: use the checkout, `pip install -e`,
    or point WEDSYNC_MIGRATIONS_DIR at the folder)."""
    directory = Path(os.environ.get("WEDSYNC_MIGRATIONS_DIR") or directory)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"no migrations folder at {directory}: run from the project checkout (pip install -e .) "
            "or set WEDSYNC_MIGRATIONS_DIR to the supabase/migrations folder"
        )
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if match is None:
            raise ValueError(f"{path.name}: migration files are named <YYYYMMDDHHMMSS>_<what>.sql")
        found.append(Migration(match["version"], match["name"], path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migration files share a version")
    return found


def _ensure_pgmq(conn: Connection[Any]) -> None:
    """pgmq as an extension where the server has it (Supabase), otherwise the SQL-only build from PyPI."""
    if conn.execute("select 1 from pg_namespace where nspname = 'pgmq'").fetchone():
        return
    if conn.execute("select 1 from pg_available_extensions where name = 'pgmq'").fetchone():
        conn.execute("create extension if not exists pgmq")
        return
    from pgmq.install import get_embedded_install_sql

    with conn.transaction():
        conn.execute(get_embedded_install_sql())


def _ensure_history(conn: Connection[Any]) -> None:
    conn.execute("create schema if not exists supabase_migrations")
    conn.execute(
        "create table if not exists supabase_migrations.schema_migrations "
        "(version text primary key, statements text[], name text)"
    )


def applied(conn: Connection[Any]) -> set[str]:
    """Versions recorded as applied (empty when the history table does not exist yet)."""
    with conn.cursor(row_factory=rows.scalar_row) as cur:
        if cur.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone() is None:
            return set()
        return set(cur.execute("select version from supabase_migrations.schema_migrations").fetchall())


def pending(url: str | None = None, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Migrations not applied yet (the health check uses this: an empty list means the schema is current)."""
    with db.connect(url, autocommit=True) as conn:
        done = applied(conn)
    return [m for m in discover(directory) if m.version not in done]


def migrate(url: str | None = None, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply every pending migration, each in its own transaction; returns what it applied.

    Concurrent runners serialise on a session advisory lock, so each file runs exactly once.
    """
    ran: list[Migration] = []
    with db.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            _ensure_pgmq(conn)
            _ensure_history(conn)
            done = applied(conn)
            for migration in discover(directory):
                if migration.version in done:
                    continue
                text = migration.read()
                with conn.transaction():
                    # A long migration must not meet a role's default statement_timeout (0 unless configured).
                    db.set_locals(conn, {"statement_timeout": str(settings.get_settings().cli_statement_timeout_ms)})
                    conn.execute(sql.SQL(text))  # type: ignore[arg-type,unused-ignore]  # migration files are trusted SQL
                    conn.execute(
                        "insert into supabase_migrations.schema_migrations (version, statements, name) "
                        "values (%s, %s, %s)",
                        (migration.version, [text], migration.name),
                    )
                ran.append(migration)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return ran
