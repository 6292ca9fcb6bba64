"""Realtime's tenant migrations as plain SQL.

Supabase Realtime keeps its schema in Elixir (Ecto) migrations whose SQL sits in `execute("...")` calls. This
reads the `up`/`change` part of each file, in file-name order, as Realtime runs them against a project's
database, and yields the statements; the `down` parts are left out. Standard library only: the cluster build
runs it with the system Python, before the project's virtualenv exists (applying it on a connection is in
database.py). The few migrations written in Ecto's DSL
(create table, alter table, index) are translated by hand in `realtime_ecto.sql`, section by file name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

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


def script(migrations_dir: Path) -> str:
    """One psql script of every statement, each in its own transaction as Ecto runs them, with the file named."""
    out = ["set search_path to realtime, public, extensions;"]
    for name, statement in statements(migrations_dir):
        out.append(f"\\echo realtime migration {name}\n{statement.rstrip().rstrip(';')};")
    return "\n".join(out) + "\n"
