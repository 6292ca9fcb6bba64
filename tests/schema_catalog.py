"""Our objects read from PostgreSQL's catalogs and written as sorted, SQL-like text (see tests/schema_snapshot.py).

What is ours: in `public`, relations and functions named `analytics_*` plus `organizations` and `api_keys` (with
their indexes, constraints, triggers and policies); everything in the schema `analytics_invoke`; the queues and
the triggers on pgmq's queue tables; our policies on `realtime.messages`. What is left out, and why:
- owners and grantors: whoever runs the migrations (`postgres` on Supabase), not a decision of the migrations;
- service_role's privileges: it is the platform's administrative role (the project's secret key; it bypasses
  row-level security), nothing of ours connects as it, and the platform decides most of what it holds:
  Supabase's default privileges give it everything created in `public` (tables, views, sequences and
  functions, trigger functions included), a plain PostgreSQL gives it only what we grant. What PUBLIC, anon
  and authenticated may do is ours, is the security boundary (tests/integration/test_access.py), and is shown;
- the dates of the monthly event partitions, which depend on the day of migrating: each one is shown with
  YYYY and MM instead, and identical ones once;
- pgmq's and Realtime's own objects, whose shape depends on their versions, not on our migrations.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import psycopg

_OUR_RELATION = r"""((n.nspname = 'public' and (c.relname like 'analytics\_%' or c.relname in ('organizations', 'api_keys')))
    or n.nspname = 'analytics_invoke')"""
_OUR_FUNCTION = r"((n.nspname = 'public' and p.proname like 'analytics\_%') or n.nspname = 'analytics_invoke')"
# Whose privileges the platform decides, not our migrations (see the module docstring).
_PLATFORM_ROLES = frozenset({"service_role"})
# In the order GRANT documents them.
_PRIVILEGES = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "USAGE",
    "CREATE",
    "EXECUTE",
]
_MONTHLY = re.compile(r"analytics_events_y(?P<year>\d{4})m(?P<month>\d{2})")
_KIND = {"r": "table", "p": "table", "f": "foreign table", "v": "view", "m": "materialized view", "S": "sequence"}
_COMMAND = {"r": "select", "a": "insert", "w": "update", "d": "delete", "*": "all"}
_VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
_PARALLEL = {"s": "parallel safe", "r": "parallel restricted", "u": ""}


def render(conn: psycopg.Connection[Any]) -> str:
    """Every object of ours, one block each, blocks sorted by kind and name; deterministic for a given schema."""
    with conn.transaction():
        # With an empty search_path the deparsed expressions name every schema, whoever connects and however
        # their role's search_path is set (pg_dump does the same); timestamps are shown in UTC. Both settings
        # are local to this transaction: the caller's session is left as it was.
        conn.execute(
            "select pg_catalog.set_config('search_path', '', true), pg_catalog.set_config('timezone', 'UTC', true)"
        )
        sections = [
            ("schemas", _schemas(conn)),
            ("tables, views and sequences", _relations(conn)),
            ("functions", _functions(conn)),
            ("pgmq queues and the triggers on their tables", _queues(conn)),
            ("policies on realtime.messages (only where Realtime's schema exists)", _realtime(conn)),
        ]
    out = []
    for title, blocks in sections:
        out.append(f"\n-- {title}\n")
        out.extend(f"\n{block}\n" for block in blocks)
    return "".join(out)


# Ordering is done in Python or on `name` columns (always in the "C" collation): an ORDER BY on text would
# follow the database's collation, which differs between clusters.
def _rows(conn: psycopg.Connection[Any], query: str, *params: Any) -> list[tuple[Any, ...]]:
    return conn.execute(query.encode(), params or None).fetchall()


def _grants(target: str, rows: Iterable[tuple[str, str, bool]], owner: str, columns: str = "") -> list[str]:
    """`grant ...;` lines from exploded ACL rows (grantee, privilege, grantable), one line per grantee and grant
    option, leaving out the owner and the platform's roles."""
    by_grantee: dict[tuple[str, bool], set[str]] = defaultdict(set)
    for grantee, privilege, grantable in rows:
        if grantee != owner and grantee not in _PLATFORM_ROLES:
            by_grantee[(grantee, grantable)].add(privilege)
    lines = []
    for (grantee, grantable), privileges in sorted(by_grantee.items()):
        listed = ", ".join(p.lower() + columns for p in _PRIVILEGES if p in privileges)
        lines.append(f"grant {listed} on {target} to {grantee}{' with grant option' if grantable else ''};")
    return lines


def _acl(conn: psycopg.Connection[Any], oid: int, catalog: str, column: str, kind: str) -> list[tuple[Any, ...]]:
    """(grantee, privilege, grantable) of one object's ACL; an object never granted on has its kind's default."""
    owner = {"pg_namespace": "nspowner", "pg_class": "relowner", "pg_proc": "proowner"}[catalog]
    return _rows(
        conn,
        "select case when x.grantee = 0 then 'public'"
        " else pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee)) end, x.privilege_type, x.is_grantable"
        f" from pg_catalog.{catalog} o, pg_catalog.aclexplode(coalesce(o.{column}, pg_catalog.acldefault('{kind}', o.{owner}))) x"
        " where o.oid = %s",
        oid,
    )


def _schemas(conn: psycopg.Connection[Any]) -> list[str]:
    blocks = []
    for oid, name, owner in _rows(
        conn,
        "select n.oid, pg_catalog.quote_ident(n.nspname), pg_catalog.pg_get_userbyid(n.nspowner)"
        " from pg_catalog.pg_namespace n where n.nspname = 'analytics_invoke' order by 2",
    ):
        acl = _acl(conn, oid, "pg_namespace", "nspacl", "n")
        blocks.append("\n".join([f"create schema {name};", *_grants(f"schema {name}", acl, owner)]))
    return blocks


def _relations(conn: psycopg.Connection[Any]) -> list[str]:
    blocks: set[str] = set()
    for oid, name, relname, kind, owner in _rows(
        conn,
        "select c.oid, pg_catalog.format('%I.%I', n.nspname, c.relname), c.relname, c.relkind,"
        " pg_catalog.pg_get_userbyid(c.relowner)"
        " from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        f" where c.relkind in ('r', 'p', 'f', 'v', 'm', 'S') and {_OUR_RELATION}",
    ):
        block = "\n".join(_relation(conn, oid, name, kind, owner))
        monthly = _MONTHLY.fullmatch(relname)
        if monthly:  # the day of migrating decides which months exist; the shape of each is ours
            year, month = int(monthly["year"]), int(monthly["month"])
            following = f"{year + month // 12:04d}-{month % 12 + 1:02d}-01"
            block = block.replace(f"'{year:04d}-{month:02d}-01 00:00:00+00'", "'YYYY-MM-01 00:00:00+00'")
            block = block.replace(f"'{following} 00:00:00+00'", "'YYYY-MM-01 00:00:00+00' + 1 month")
            block = _MONTHLY.sub("analytics_events_yYYYYmMM", block)
        blocks.add(block)
    return sorted(blocks)


def _relation(conn: psycopg.Connection[Any], oid: int, name: str, kind: str, owner: str) -> list[str]:
    ((partition_of, bound, partkey, rls, force_rls, options),) = _rows(
        conn,
        "select (select i.inhparent::regclass::text from pg_catalog.pg_inherits i where i.inhrelid = c.oid),"
        " pg_catalog.pg_get_expr(c.relpartbound, c.oid),"
        " case when c.relkind = 'p' then pg_catalog.pg_get_partkeydef(c.oid) end,"
        " c.relrowsecurity, c.relforcerowsecurity, c.reloptions"
        " from pg_catalog.pg_class c where c.oid = %s",
        oid,
    )
    with_options = f" with ({', '.join(options)})" if options else ""
    lines: list[str]
    if kind in ("v", "m"):
        ((definition,),) = _rows(conn, "select pg_catalog.pg_get_viewdef(%s::oid, true)", oid)
        lines = [f"create {_KIND[kind]} {name}{with_options} as", definition.rstrip().rstrip(";") + ";"]
    elif kind == "S":
        lines = [_sequence(conn, oid, name)]
    elif partition_of:
        lines = [f"create table {name} partition of {partition_of} {bound};", *_constraints(conn, oid, name)]
    else:
        body = _columns(conn, oid) + [f"    constraint {c}" for c in _constraint_clauses(conn, oid)]
        partitioned = f" partition by {partkey}" if partkey else ""
        lines = [f"create {_KIND[kind]} {name} (", ",\n".join(body), f"){partitioned}{with_options};"]
    if rls:
        lines.append(f"alter table {name} enable row level security;")
    if force_rls:
        lines.append(f"alter table {name} force row level security;")
    lines += _indexes(conn, oid)
    lines += [f"{definition};" for (definition,) in _triggers(conn, oid)]
    lines += _policies(conn, oid, name)
    acl = _acl(conn, oid, "pg_class", "relacl", "s" if kind == "S" else "r")
    lines += _grants(f"{'sequence' if kind == 'S' else 'table'} {name}", acl, owner)
    lines += _column_grants(conn, oid, name, owner)
    return lines


def _columns(conn: psycopg.Connection[Any], oid: int) -> list[str]:
    lines = []
    for column, type_, not_null, default, identity, generated, collation in _rows(
        conn,
        "select pg_catalog.quote_ident(a.attname), pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,"
        " case when a.attcollation <> t.typcollation then (select pg_catalog.quote_ident(collname)"
        "   from pg_catalog.pg_collation where oid = a.attcollation) end"
        " from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid"
        " left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum"
        " where a.attrelid = %s and a.attnum > 0 and not a.attisdropped order by a.attnum",
        oid,
    ):
        parts = [f"    {column} {type_}"]
        if collation:
            parts.append(f"collate {collation}")
        if generated == "s":
            parts.append(f"generated always as ({default}) stored")
        elif default is not None:
            parts.append(f"default {default}")
        if identity:
            parts.append(f"generated {'always' if identity == 'a' else 'by default'} as identity")
        if not_null:
            parts.append("not null")
        lines.append(" ".join(parts))
    return lines


def _constraint_clauses(conn: psycopg.Connection[Any], oid: int) -> list[str]:
    # Only constraints declared on this table (not cloned from a partitioned parent); NOT NULL is a column
    # property above (PostgreSQL 18 also lists it here, as contype 'n').
    return [
        f"{name} {definition}"
        for name, definition in _rows(
            conn,
            "select pg_catalog.quote_ident(conname), pg_catalog.pg_get_constraintdef(oid, true)"
            " from pg_catalog.pg_constraint where conrelid = %s and conislocal and conparentid = 0"
            " and contype <> 'n' order by conname",
            oid,
        )
    ]


def _constraints(conn: psycopg.Connection[Any], oid: int, name: str) -> list[str]:
    return [f"alter table {name} add constraint {clause};" for clause in _constraint_clauses(conn, oid)]


def _indexes(conn: psycopg.Connection[Any], oid: int) -> list[str]:
    # Indexes behind a constraint are the constraint; a partition's copies of its parent's indexes are the parent's.
    return [
        f"{definition};"
        for (definition,) in _rows(
            conn,
            "select pg_catalog.pg_get_indexdef(i.oid) from pg_catalog.pg_index x"
            " join pg_catalog.pg_class i on i.oid = x.indexrelid"
            " where x.indrelid = %s and not i.relispartition and not exists (select from pg_catalog.pg_constraint k"
            "   where k.conindid = i.oid and k.conrelid = x.indrelid and k.contype in ('p', 'u', 'x'))"
            " order by i.relname",
            oid,
        )
    ]


def _triggers(conn: psycopg.Connection[Any], oid: int) -> list[tuple[Any, ...]]:
    # Internal triggers (foreign keys) are the constraints; a partition's clones are its parent's triggers.
    return _rows(
        conn,
        "select pg_catalog.pg_get_triggerdef(oid) from pg_catalog.pg_trigger"
        " where tgrelid = %s and not tgisinternal and tgparentid = 0 order by tgname",
        oid,
    )


def _policies(conn: psycopg.Connection[Any], oid: int, name: str, only: str = "%") -> list[str]:
    lines = []
    for policy, permissive, command, roles, using, check in _rows(
        conn,
        "select pg_catalog.quote_ident(polname), polpermissive, polcmd,"
        " array(select case when r = 0 then 'public' else pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) end"
        "   from unnest(polroles) r),"
        " pg_catalog.pg_get_expr(polqual, polrelid), pg_catalog.pg_get_expr(polwithcheck, polrelid)"
        " from pg_catalog.pg_policy where polrelid = %s and polname like %s order by polname",
        oid,
        only,
    ):
        text = f"create policy {policy} on {name} as {'permissive' if permissive else 'restrictive'}"
        text += f" for {_COMMAND[command]} to {', '.join(sorted(roles))}"
        if using is not None:
            text += f"\n    using ({using})"
        if check is not None:
            text += f"\n    with check ({check})"
        lines.append(text + ";")
    return lines


def _column_grants(conn: psycopg.Connection[Any], oid: int, name: str, owner: str) -> list[str]:
    columns: dict[tuple[str, str, bool], list[str]] = defaultdict(list)
    for column, grantee, privilege, grantable in _rows(
        conn,
        "select pg_catalog.quote_ident(a.attname), case when x.grantee = 0 then 'public'"
        " else pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee)) end, x.privilege_type, x.is_grantable"
        " from pg_catalog.pg_attribute a, pg_catalog.aclexplode(a.attacl) x"
        " where a.attrelid = %s and a.attacl is not null and not a.attisdropped order by a.attnum",
        oid,
    ):
        columns[(grantee, privilege, grantable)].append(column)
    lines = []
    for (grantee, privilege, grantable), names in sorted(columns.items()):
        lines += _grants(f"table {name}", [(grantee, privilege, grantable)], owner, f" ({', '.join(names)})")
    return lines


def _sequence(conn: psycopg.Connection[Any], oid: int, name: str) -> str:
    ((type_, start, increment, minimum, maximum, cache, cycle, owned_by),) = _rows(
        conn,
        "select pg_catalog.format_type(s.seqtypid, null), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,"
        " s.seqcache, s.seqcycle, (select t.oid::regclass::text || '.' || pg_catalog.quote_ident(a.attname)"
        "   from pg_catalog.pg_depend d join pg_catalog.pg_class t on t.oid = d.refobjid"
        "   join pg_catalog.pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid"
        "   where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = s.seqrelid"
        "   and d.refclassid = 'pg_catalog.pg_class'::regclass and d.deptype in ('a', 'i'))"
        " from pg_catalog.pg_sequence s where s.seqrelid = %s",
        oid,
    )
    text = f"create sequence {name} as {type_} start {start} increment {increment} minvalue {minimum}"
    text += f" maxvalue {maximum} cache {cache}{' cycle' if cycle else ''};"
    if owned_by:
        text += f"\nalter sequence {name} owned by {owned_by};"
    return text


def _functions(conn: psycopg.Connection[Any]) -> list[str]:
    blocks: list[tuple[str, str, str]] = []
    for row in _rows(
        conn,
        "select p.oid, pg_catalog.format('%I.%I', n.nspname, p.proname), pg_catalog.pg_get_function_arguments(p.oid),"
        " pg_catalog.pg_get_function_identity_arguments(p.oid), pg_catalog.pg_get_function_result(p.oid), p.prokind,"
        " l.lanname, p.provolatile, p.proisstrict, p.prosecdef, p.proleakproof, p.proparallel, p.proconfig,"
        " coalesce(nullif(p.prosrc, ''), pg_catalog.pg_get_function_sqlbody(p.oid)), p.procost, p.prorows,"
        " pg_catalog.pg_get_userbyid(p.proowner)"
        " from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace"
        " join pg_catalog.pg_language l on l.oid = p.prolang"
        f" where {_OUR_FUNCTION}",
    ):
        (oid, name, arguments, identity, result, kind, language, volatility, strict, definer, leakproof) = row[:11]
        parallel, config, source, cost, rows, owner = row[11:]
        routine = "procedure" if kind == "p" else "function"
        attributes = [f"language {language}", _VOLATILITY[volatility], _PARALLEL[parallel]]
        attributes += [
            "strict" if strict else "",
            "security definer" if definer else "",
            "leakproof" if leakproof else "",
        ]
        attributes += [f"cost {cost:g}" if cost != 100 else "", f"rows {rows:g}" if rows not in (0, 1000) else ""]
        attributes += [f"set {setting.replace('=', ' = ', 1)}" for setting in config or ()]
        digest = hashlib.sha256((source or "").encode()).hexdigest()
        returns = f" returns {result}" if result else ""
        lines = [f"create {routine} {name}({arguments}){returns}"]
        lines.append("    " + " ".join(a for a in attributes if a) + f" as 'sha256:{digest}';")
        acl = _acl(conn, oid, "pg_proc", "proacl", "f")
        lines += _grants(f"{routine} {name}({identity})", acl, owner)
        blocks.append((name, identity, "\n".join(lines)))
    return [block for _, _, block in sorted(blocks)]


def _queues(conn: psycopg.Connection[Any]) -> list[str]:
    blocks = []
    for oid, queue in _rows(
        conn,
        "select c.oid, substr(c.relname, 3) from pg_catalog.pg_class c"
        " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        r" where n.nspname = 'pgmq' and c.relname like 'q\_%' and c.relkind in ('r', 'p') order by c.relname",
    ):
        triggers = [f"{definition};" for (definition,) in _triggers(conn, oid)]
        blocks.append("\n".join([f"select pgmq.create('{queue}');", *triggers]))
    return blocks


def _realtime(conn: psycopg.Connection[Any]) -> list[str]:
    ((oid,),) = _rows(conn, "select to_regclass('realtime.messages')::oid")
    return [] if oid is None else _policies(conn, oid, "realtime.messages", r"analytics\_%")
