"""Realtime's tenant migrations as plain SQL.

Supabase Realtime keeps its schema in Elixir (Ecto) migrations whose SQL sits in `execute("...")` calls. This
reads the `up`/`change` part of each file, in file-name order, as Realtime runs them against a project's
database, and yields the statements; the `down` parts are left out. The few migrations written in Ecto's DSL
(create table, alter table, index) are translated by hand in `realtime_ecto.sql`, section by file name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

_FUNCTION = re.compile(r"^\s*def\s+(\w+)\s+do\s*$", re.MULTILINE)
# The first argument of execute(...): a heredoc ("""...""") or a string ("..." with \" escapes); ~S"""...""" keeps
# its backslashes as they are (no escapes in that sigil).
_EXECUTE = re.compile(
    r'execute\s*\(?\s*(?P<sigil>~S)?(?:"""\n?(?P<heredoc>.*?)"""|"(?P<line>(?:[^"\\]|\\.)*)")', re.DOTALL
)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ECTO = Path(__file__).with_name("realtime_ecto.sql")
_SECTION = re.compile(r"^-- file: (\S+)\n", re.MULTILINE)


def _ecto_sections() -> dict[str, str]:
    parts = _SECTION.split(_ECTO.read_text(encoding="utf-8"))
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text)


def _up_parts(source: str) -> Iterator[str]:
    starts = list(_FUNCTION.finditer(source))
    for i, match in enumerate(starts):
        if match[1] in ("up", "change"):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(source)
            yield source[match.end() : end]


def statements(migrations_dir: Path) -> Iterator[tuple[str, str]]:
    """(file name, SQL statement) for every execute() of every migration's up/change, in order."""
    ecto = _ecto_sections()
    yield "schema_migrations", ecto.pop("00000000000000_schema_migrations")
    for path in sorted(migrations_dir.glob("*.ex")):
        if path.name in ecto:
            yield path.name, ecto[path.name]
        for part in _up_parts(path.read_text(encoding="utf-8")):
            for match in _EXECUTE.finditer(part):
                text = match["heredoc"] if match["heredoc"] is not None else match["line"]
                yield path.name, (text if match["sigil"] else _unescape(text)).strip()


# Roles Realtime's migrations grant to that a plain PostgreSQL lacks (the Supabase image creates them).
REQUIRED_ROLES = ("postgres", "dashboard_user")


def apply_realtime_schema(conn: psycopg.Connection[Any], migrations_dir: Path) -> list[str]:
    """Build the realtime schema on a superuser connection, each statement in a savepoint as Ecto runs each
    migration in a transaction; returns what failed (file, statement, error)."""
    conn.execute("create schema if not exists realtime")
    conn.execute("set search_path to realtime, public, extensions")
    skipped = []
    for name, statement in statements(migrations_dir):
        try:
            with conn.transaction():
                conn.execute(statement.encode())
        except psycopg.Error as exc:
            first = " ".join(statement.split())[:100]
            skipped.append(f"{name}: {first}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    conn.execute("reset search_path")
    return skipped


def create_partitions(conn: psycopg.Connection[Any], today: date, days_before: int = 2, days_after: int = 7) -> None:
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


def script(migrations_dir: Path) -> str:
    """One psql script of every statement, each in its own transaction as Ecto runs them, with the file named."""
    out = ["set search_path to realtime, public, extensions;"]
    for name, statement in statements(migrations_dir):
        out.append(f"\\echo realtime migration {name}\n{statement.rstrip().rstrip(';')};")
    return "\n".join(out) + "\n"
