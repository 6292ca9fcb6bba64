"""Supabase Realtime's schema in a test database, built from the upstream tenant migrations.

Realtime creates `realtime.messages`, `realtime.send` and `realtime.topic()` in every project's database with Ecto
migrations (`/work/shared/supabase-reference/realtime/tenant-migrations/*.ex`, copied verbatim from upstream).
Tests that check our Realtime policies need that schema exactly as a project has it, so this module replays
those files: in filename order, the `up`/`change` function of each (never `down`), the SQL of every
`execute(...)` call, and the few Ecto schema commands they use (`create table`, `alter table`, `create index`,
`drop_if_exists table`) translated the way Ecto's PostgreSQL adapter writes them. Without the translation the
messages table would keep the bigint id that a later migration replaces, and `realtime.send` (which swallows
its own errors) would silently store nothing. Each statement runs in its own savepoint: what fails is skipped
and reported, never hidden. Self-contained so a fuller Supabase harness can call `apply_realtime_schema` too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg

REFERENCE = Path("/work/shared/supabase-reference/realtime/tenant-migrations")
PREFIX = "realtime"  # Realtime runs its tenant migrations with `prefix: "realtime"`
# Roles the migrations grant to or revoke from besides those our own migrations create (anon, authenticated,
# service_role). supabase_realtime_admin is created by the migrations themselves.
REQUIRED_ROLES = ("postgres", "dashboard_user")

_TOKEN = re.compile(
    r"""(?P<nl>\n)|(?P<ws>[ \t\r]+)|(?P<comment>\#[^\n]*)
    |(?P<heredoc>(?P<hsigil>~[sS])?\"\"\"[^\n]*\n)|(?P<string>(?P<ssigil>~[sS])?\")
    |(?P<key>[a-z_]\w*[?!]?:)(?=\s)|(?P<atom>:(?:[a-z_]\w*[?!]?|"[^"]*"))
    |(?P<name>[A-Za-z_][\w.]*[?!]?)|(?P<num>\d+)|(?P<punct>.)""",
    re.VERBOSE,
)
_ESCAPES = dict(zip("abdefnrstv0", "\a\b\x7f\x1b\f\n\r \t\v\0", strict=True))  # Elixir's, in strings
# The Ecto column types the reference uses, as Ecto's PostgreSQL adapter writes them; others are reported.
_TYPES = {"string": "varchar(255)", "text": "text", "boolean": "boolean", "map": "jsonb", "uuid": "uuid"}
_TYPES |= dict.fromkeys(("utc_datetime", "naive_datetime"), "timestamp(0)")
_ON_DELETE = {"delete_all": "CASCADE", "nilify_all": "SET NULL", "restrict": "RESTRICT", "nothing": "NO ACTION"}


class Unread(Exception):
    """A statement (or file) this loader cannot turn into SQL; apply_realtime_schema reports it as skipped."""


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: Any


@dataclass(frozen=True)
class Atom:
    name: str


@dataclass(frozen=True)
class Kw:
    key: str
    value: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]
    block: tuple[Any, ...] | None = None


def _unescape(text: str) -> str:
    if re.search(r"(?<!\\)#\{", text):
        raise Unread("string interpolation")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), text, flags=re.DOTALL)


def _tokens(source: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        assert m is not None  # the last alternative matches any character
        pos = m.end()
        if m["nl"]:
            out.append(_Tok("nl", None))
        elif m["heredoc"]:  # ends at the first line that starts with """; its indent is removed from every line
            close = re.compile(r'^([ \t]*)"""', re.MULTILINE).search(source, pos)
            if close is None:
                raise Unread("unterminated heredoc")
            lines = source[pos : close.start()].splitlines(keepends=True)
            body = "".join(line.removeprefix(close[1]) for line in lines)
            out.append(_Tok("str", body if m["hsigil"] == "~S" else _unescape(body)))
            pos = close.end()
        elif m["string"]:
            end = re.compile(r'(?:[^"\\]|\\.)*"', re.DOTALL).match(source, pos)
            if end is None:
                raise Unread("unterminated string")
            body = source[pos : end.end() - 1]
            out.append(_Tok("str", body if m["ssigil"] == "~S" else _unescape(body)))
            pos = end.end()
        elif not (m["ws"] or m["comment"]):
            kind = next(k for k in ("key", "atom", "name", "num", "punct") if m[k])
            out.append(_Tok(kind, m[kind]))
    return out


class _Parser:
    """Just enough Elixir for Ecto migrations: calls with or without parentheses, `do ... end` blocks,
    keyword lists, lists, tuples, atoms, strings and numbers."""

    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks, self.i = tokens, 0

    def peek(self) -> _Tok:
        return self.toks[self.i] if self.i < len(self.toks) else _Tok("eof", None)

    def take(self, value: str | None = None) -> _Tok:
        tok = self.peek()
        if value is not None and tok.value != value:
            raise Unread(f"expected {value!r}, found {tok.value!r}")
        self.i += 1
        return tok

    def skip_nl(self) -> None:
        while self.peek().kind == "nl":
            self.i += 1

    def functions(self) -> Iterator[tuple[str, list[Any | Exception]]]:
        """Every `def name do ... end` of the module with its statements (unparsable ones as exceptions)."""
        while self.peek().kind != "eof":
            tok = self.take()
            if tok == _Tok("name", "def") and self.peek().kind == "name":
                name = self.take().value
                if self.peek().value == "(":
                    self.take("(")
                    self.take(")")
                self.take("do")
                yield name, self.body()

    def body(self) -> list[Any | Exception]:
        statements: list[Any | Exception] = []
        while True:
            self.skip_nl()
            if self.peek().value in ("end", None):
                self.take()
                return statements
            start = self.i
            try:
                statements.append(self.expr(statement=True))
            except Unread as exc:
                statements.append(exc)
                self.i, depth = start, 0  # resynchronise: the end of this statement's `do ... end`, or its line
                while self.peek().kind != "eof" and not (depth == 0 and self.peek().kind == "nl"):
                    depth += {"do": 1, "fn": 1, "end": -1}.get(str(self.take().value), 0)

    def expr(self, statement: bool = False) -> Any:
        tok = self.take()
        if tok.kind == "str":
            return tok.value
        if tok.kind == "atom":
            return Atom(tok.value[1:].strip('"'))
        if tok.kind == "num":
            return int(tok.value)
        if tok.kind == "key":
            self.skip_nl()
            return Kw(tok.value[:-1], self.expr())
        if tok.value in ("[", "{"):
            items = self.items("]" if tok.value == "[" else "}")
            return items if tok.value == "[" else tuple(items)
        if tok.kind != "name":
            raise Unread(f"unexpected {tok.value!r}")
        if tok.value in ("true", "false", "nil"):
            return {"true": True, "false": False, "nil": None}[tok.value]
        if self.peek().value == "(":
            self.take("(")
            args = tuple(self.items(")"))
        elif statement and (self.peek().kind in ("str", "atom", "name", "key", "num") or self.peek().value == "["):
            args = (self.expr(),)
            while self.peek().value == ",":
                self.take(",")
                self.skip_nl()
                args += (self.expr(),)
        else:
            args = ()
        if statement and self.peek().value == "do":  # `create table(...) do`: the block is create's
            self.take("do")
            return Call(tok.value, args, tuple(self.body()))
        return Call(tok.value, args)

    def items(self, close: str) -> list[Any]:
        found: list[Any] = []
        while True:
            self.skip_nl()
            if self.peek().value == close:
                self.take()
                return found
            found.append(self.expr())
            self.skip_nl()
            if self.peek().value == ",":
                self.take(",")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _split(args: tuple[Any, ...]) -> tuple[list[Any], dict[str, Any]]:
    opts: dict[str, Any] = {}
    positional: list[Any] = []
    for arg in args:
        for kw in arg if isinstance(arg, list) and arg and all(isinstance(a, Kw) for a in arg) else [arg]:
            if isinstance(kw, Kw):
                opts[kw.key] = kw.value
            else:
                positional.append(kw)
    return positional, opts


def _literal(value: Any) -> str:
    if isinstance(value, Call) and value.name == "fragment":
        return str(value.args[0])
    if value is None:
        return "NULL"
    if isinstance(value, int):  # bool too: true, false
        return str(value).lower()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise Unread(f"default {value!r}")


def _type(kind: Any) -> str:
    if not (isinstance(kind, Atom) and kind.name in _TYPES):
        raise Unread(f"column type {kind!r}")
    return _TYPES[kind.name]


def _table(call: Any) -> tuple[str, str, dict[str, Any]]:
    if not (isinstance(call, Call) and call.name in ("table", "index", "unique_index")):
        raise Unread(f"schema command on {call!r}")
    positional, opts = _split(call.args)
    name = positional[0].name if isinstance(positional[0], Atom) else str(positional[0])
    return f"{_ident(opts.get('prefix', PREFIX))}.{_ident(name)}", name, opts


def _column(table: str, col: Call) -> str:
    positional, opts = _split(col.args)
    name, kind = positional[0].name, positional[1]
    if isinstance(kind, Call) and kind.name == "references":
        (target, *_), ref = _split(kind.args)
        sql = (
            f"bigint CONSTRAINT {_ident(f'{table}_{name}_fkey')} REFERENCES {_ident(PREFIX)}.{_ident(target.name)}"
            f"({_ident(ref.get('column', Atom('id')).name)})"
        )
        if "on_delete" in ref:
            sql += f" ON DELETE {_ON_DELETE[ref['on_delete'].name]}"
    else:
        sql = _type(kind)
    if "default" in opts:
        sql += f" DEFAULT {_literal(opts['default'])}"
    if opts.get("null") is False:
        sql += " NOT NULL"
    if opts.get("primary_key"):
        sql += " PRIMARY KEY"
    return f"{_ident(name)} {sql}"


def _columns(table: str, block: tuple[Any, ...]) -> Iterator[str]:
    for col in block:
        if isinstance(col, Call) and col.name == "timestamps":
            yield from ('"inserted_at" timestamp(0) NOT NULL', '"updated_at" timestamp(0) NOT NULL')
        elif isinstance(col, Call) and col.name == "add":
            yield _column(table, col)
        else:
            raise Unread(f"in create table: {col!r}")


def _alter(table: str, col: Any) -> Iterator[str]:
    if not isinstance(col, Call):
        raise Unread(f"in alter table: {col!r}")
    positional, opts = _split(col.args)
    name = _ident(positional[0].name)
    if col.name in ("add", "add_if_not_exists"):
        yield ("ADD COLUMN IF NOT EXISTS " if col.name == "add_if_not_exists" else "ADD COLUMN ") + _column(table, col)
    elif col.name in ("remove", "remove_if_exists"):
        yield f"DROP COLUMN {'IF EXISTS ' if col.name == 'remove_if_exists' else ''}{name}"
    elif col.name == "modify":
        yield f"ALTER COLUMN {name} TYPE {_type(positional[1])}"
        if "null" in opts:
            yield f"ALTER COLUMN {name} {'DROP' if opts['null'] else 'SET'} NOT NULL"
        if "default" in opts:
            yield f"ALTER COLUMN {name} SET DEFAULT {_literal(opts['default'])}"
    else:
        raise Unread(f"in alter table: {col.name}")


def _index(target: Call, opts: dict[str, Any]) -> tuple[str, str]:
    """The name and the `(col, col DESC) WHERE ...` of index(:table, columns, opts); Ecto's default name is
    <table>_<columns>_index."""
    table, columns = _split(target.args)[0][:2]
    columns = [
        (Atom("asc"), c) if isinstance(c, Atom) else c for c in (columns if isinstance(columns, list) else [columns])
    ]
    name = opts.get("name", Atom("_".join([table.name, *(c.name for _, c in columns), "index"])))
    on = ", ".join(_ident(c.name) + (" DESC" if d.name == "desc" else "") for d, c in columns)
    where = f" WHERE {opts['where']}" if "where" in opts else ""
    return _ident(name.name if isinstance(name, Atom) else name), f"({on}){where}"


def _sql(stmt: Any) -> str | None:
    """The SQL one migration statement runs (None: it runs nothing, like a bare string)."""
    if isinstance(stmt, str):
        return None
    if not isinstance(stmt, Call) or not stmt.args:
        raise Unread(f"statement {stmt!r}")
    if stmt.name == "execute":
        if not isinstance(stmt.args[0], str):
            raise Unread("execute of something other than a string")
        return stmt.args[0]
    (target, *_), opts = _split(stmt.args)
    qualified, name, target_opts = _table(target)
    exists = " IF NOT EXISTS" if stmt.name.endswith("if_not_exists") else ""
    if stmt.name in ("create", "create_if_not_exists") and target.name == "table":
        cols = [] if target_opts.get("primary_key") is False else ['"id" bigserial PRIMARY KEY']
        cols += _columns(name, stmt.block or ())
        return f"CREATE TABLE{exists} {qualified} ({', '.join(cols)})"
    if stmt.name in ("create", "create_if_not_exists"):
        unique = "UNIQUE " if target.name == "unique_index" else ""
        index, on = _index(target, target_opts)
        return f"CREATE {unique}INDEX{exists} {index} ON {qualified} {on}"
    if stmt.name == "alter" and target.name == "table":
        return f"ALTER TABLE {qualified} " + ", ".join(a for col in stmt.block or () for a in _alter(name, col))
    if stmt.name in ("drop", "drop_if_exists") and target.name == "table":
        cascade = " CASCADE" if opts.get("mode") == Atom("cascade") else ""
        return f"DROP TABLE{' IF EXISTS' if stmt.name == 'drop_if_exists' else ''} {qualified}{cascade}"
    raise Unread(f"{stmt.name} {target.name}")


def migration_sql(path: Path) -> list[str | Unread]:
    """The SQL statements of one migration file's `up` (or `change`), in order; a statement that cannot be read
    as SQL is an Unread in its place. `down` is never read."""
    try:
        functions = dict(_Parser(_tokens(path.read_text(encoding="utf-8"))).functions())
    except Unread as exc:
        return [Unread(f"the file: {exc}")]
    found: list[str | Unread] = []
    for stmt in functions.get("up", functions.get("change", [])):
        if isinstance(stmt, Exception):
            found.append(Unread(str(stmt)))
            continue
        try:
            sql = _sql(stmt)
        except (Unread, IndexError, KeyError, AttributeError, TypeError) as exc:
            found.append(Unread(f"{type(exc).__name__}: {exc}"))
            continue
        if sql is not None:
            found.append(sql)
    return found


def apply_realtime_schema(conn: psycopg.Connection[Any], reference: Path = REFERENCE) -> list[str]:
    """Build the `realtime` schema as Realtime's migrations do and return what was skipped (file, statement,
    error). Needs a superuser connection and the roles in REQUIRED_ROLES; each statement runs in a savepoint."""
    skipped: list[str] = []
    # The Supabase image creates the schema (postgres/migrations/20211118015519_create-realtime-schema.sql);
    # Ecto creates its history table under the migration prefix.
    conn.execute("create schema if not exists realtime")
    conn.execute(
        "create table if not exists realtime.schema_migrations (version bigint primary key, inserted_at timestamp(0))"
    )
    for path in sorted(reference.glob("*.ex")):
        for sql in migration_sql(path):
            if isinstance(sql, Unread):
                skipped.append(f"{path.name}: not read: {sql}")
                continue
            try:
                with conn.transaction():
                    conn.execute(sql.encode())
            except psycopg.Error as exc:
                first = " ".join(sql.split())[:100]
                skipped.append(f"{path.name}: {first}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    return skipped


def create_partitions(conn: psycopg.Connection[Any], today: date) -> None:
    """Yesterday's, today's and tomorrow's partitions of realtime.messages, as the Realtime server creates them
    when it connects to a project (Realtime.Tenants.Connect.CreatePartitions; UTC dates)."""
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        conn.execute(
            psycopg.sql.SQL(
                "create table if not exists realtime.{} partition of realtime.messages for values from ({}) to ({})"
            ).format(
                psycopg.sql.Identifier(f"messages_{day:%Y_%m_%d}"),
                psycopg.sql.Literal(day.isoformat()),
                psycopg.sql.Literal((day + timedelta(days=1)).isoformat()),
            )
        )
