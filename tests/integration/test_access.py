"""Nothing of ours is reachable through the project's public anon key, nor by a signed-in user of another
organization: tried the way PostgREST does it (the `authenticator` login switching to `anon` or `authenticated`
with the request's JWT claims), on every relation (partitions and queues included) and every function.

On the Supabase-like cluster (CI) the database has Supabase's default privileges, which grant every new object
in `public` to anon and authenticated: this is the test that proves our migrations take those grants back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from shared.aggregate import aggregation
from shared.core import db, organizations
from shared.validate import validation
from tests import factories

# Schemas whose objects are ours (public: only the pipeline's own names) or hold tenant data (the queues).
# For each: its kind, a column an UPDATE may name (not generated), and the column naming the organization.
_RELATIONS = """
select c.oid::regclass::text, c.relkind,
       (select attname from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
          and a.attidentity = '' and a.attgenerated = '' order by attnum limit 1),
       (select attname from pg_attribute a where a.attrelid = c.oid and not a.attisdropped
          and a.attname = case when c.oid = 'public.organizations'::regclass then 'id' else 'organization_id' end)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
  and ((n.nspname = 'public' and (c.relname like 'analytics\\_%' or c.relname in ('organizations', 'api_keys')))
       or n.nspname in ('analytics_invoke', 'pgmq'))
order by 1
"""
_FUNCTIONS = """
select p.oid::regprocedure::text, p.oid::regproc::text,
       coalesce((select array_agg(format_type(t, null) order by i)
                 from unnest(p.proargtypes) with ordinality as a (t, i)), '{}')
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where p.prokind = 'f'
  and ((n.nspname = 'public' and p.proname like 'analytics\\_%') or n.nspname in ('analytics_invoke', 'pgmq'))
order by 1
"""
# Harmless by design and needed by the policies, filtered views and dashboard queries a signed-in user runs;
# checked below to reveal nothing of another organization.
_USER_FUNCTIONS = {
    "analytics_request_org()",
    "analytics_materialized_views_v1()",
    "analytics_bucket_v1(timestamp with time zone)",
}
_DENIED = (errors.InsufficientPrivilege,)


@dataclass
class Tally:
    tried: int = 0
    findings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Caller:
    role: str
    claims: dict[str, Any]


def _as_caller(conn: psycopg.Connection[Any], caller: Caller) -> None:
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(caller.role)))
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(caller.claims),))


@pytest.fixture
def as_postgrest(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection like PostgREST's: as `authenticator` where the project has it (Supabase), otherwise as the
    database owner; each try switches role inside its own transaction."""
    with psycopg.connect(database_url) as probe:
        has_authenticator = probe.execute("select 1 from pg_roles where rolname = 'authenticator'").fetchone()
    url = psycopg.conninfo.make_conninfo(database_url, user="authenticator") if has_authenticator else database_url
    with psycopg.connect(url) as conn:
        yield conn


@pytest.fixture
def victim(ingest_app: Any, make_org: Callable[..., organizations.CreatedOrganization], conn: Any) -> uuid.UUID:
    """An organization with data in every kind of table: events, rollups, dead letters, queues, sources."""
    org = make_org()
    batch = [factories.make_event(t) for t in ("inquiry.received", "booking.confirmed", "payment.succeeded")]
    batch.append(factories.make_event("payment.succeeded", amount_minor=-5))  # a dead letter
    answer = ingest_app.post(
        "/v1/events",
        data=json.dumps({"events": batch}),
        headers={"Authorization": f"Bearer {org.ingest_key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202 and answer.json["accepted"] == 3, answer.json
    validation.drain(db.transaction)
    aggregation.drain(db.transaction)
    # Something left waiting in a queue, too.
    ingest_app.post(
        "/v1/events",
        data=json.dumps(factories.make_event("client.created")),
        headers={"Authorization": f"Bearer {org.ingest_key}"},
        content_type="application/json",
    )
    assert conn.execute("select count(*) from analytics_rollups where organization_id = %s", (org.id,)).fetchone()[0]
    return org.id


def _callers(make_org: Callable[..., organizations.CreatedOrganization]) -> list[Caller]:
    other = make_org(name="Someone Else")
    user = {"sub": str(uuid.uuid4()), "role": "authenticated", "organization_id": str(other.id)}
    return [Caller("anon", {"role": "anon"}), Caller("authenticated", user)]


def _try(
    conn: psycopg.Connection[Any], caller: Caller, statement: sql.Composed, tally: Tally, what: str, *, read: bool
) -> None:
    """Run one statement as the caller. A read may be allowed but must come back empty (row-level security); any
    other statement must be refused outright."""
    tally.tried += 1
    try:
        with conn.transaction(force_rollback=True):
            _as_caller(conn, caller)
            cur = conn.execute(statement)
            rows = cur.fetchall() if cur.description else []
            if not read or any(any(v for v in r) for r in rows):
                tally.findings.append(f"{caller.role}: {what} -> allowed {rows[:3]}")
    except _DENIED:
        pass
    except psycopg.Error as exc:
        tally.findings.append(f"{caller.role}: {what} -> got past the privilege check ({type(exc).__name__}: {exc})")


def _relation_statements(
    name: str, kind: str, column: str | None, org_column: str | None, caller: Caller
) -> Iterator[tuple[str, sql.Composed]]:
    rel = sql.SQL(name)  # a regclass text, quoted by PostgreSQL itself
    if kind == "S":
        yield "nextval", sql.SQL("select nextval({})").format(sql.Literal(name))
        yield "select", sql.SQL("select last_value from {}").format(rel)
        return
    # Rows of anyone but the caller's own organization.
    others: sql.Composable = sql.SQL("")
    if org_column is not None and "organization_id" in caller.claims:
        others = sql.SQL(" where {} is distinct from {}").format(
            sql.Identifier(org_column), sql.Literal(caller.claims["organization_id"])
        )
    yield "select", sql.SQL("select count(*) from {}{}").format(rel, others)
    if kind in ("v", "m"):
        # A view that cannot take writes fails before any privilege check: ask for the privileges instead.
        for privilege in ("insert", "update", "delete"):
            yield (
                privilege,
                sql.SQL("select 1 where has_table_privilege({}, {})").format(sql.Literal(name), sql.Literal(privilege)),
            )
        return
    yield "insert", sql.SQL("insert into {} default values").format(rel)
    if column is not None:
        col = sql.Identifier(column)
        yield "update", sql.SQL("update {} set {} = {}").format(rel, col, col)
    yield "delete", sql.SQL("delete from {}").format(rel)
    if kind in ("r", "p"):
        yield "truncate", sql.SQL("truncate {}").format(rel)


def test_anon_and_another_organizations_user_can_reach_nothing_of_ours(
    victim: uuid.UUID,
    make_org: Callable[..., organizations.CreatedOrganization],
    conn: psycopg.Connection[Any],
    as_postgrest: psycopg.Connection[Any],
) -> None:
    relations = conn.execute(_RELATIONS).fetchall()
    functions = conn.execute(_FUNCTIONS).fetchall()
    assert any(r[1] == "p" for r in relations) and any(r[0].startswith("pgmq.") for r in relations)
    tally = Tally()
    for caller in _callers(make_org):
        for name, kind, column, org_column in relations:
            for what, statement in _relation_statements(name, kind, column, org_column, caller):
                # A privilege probe that answers nothing is a refusal, like a read that finds nothing.
                probe = what == "select" or kind in ("v", "m")
                _try(as_postgrest, caller, statement, tally, f"{what} {name}", read=probe)
        for signature, proc, argtypes in functions:
            if caller.role == "authenticated" and signature in _USER_FUNCTIONS:
                continue  # allowed on purpose: checked in the next test
            args = sql.SQL(", ").join(sql.SQL("null::{}").format(sql.SQL(t)) for t in argtypes)
            call = sql.SQL("select {}({})").format(sql.SQL(proc), args)
            _try(as_postgrest, caller, call, tally, f"execute {signature}", read=False)
    print(
        f"\naccess: {len(relations)} relations and {len(functions)} functions, {tally.tried} tries, "
        f"{len(tally.findings)} reached"
    )
    print("\n".join(tally.findings))
    assert tally.findings == []


def test_the_functions_a_signed_in_user_may_call_reveal_only_their_own_organization(
    victim: uuid.UUID,
    make_org: Callable[..., organizations.CreatedOrganization],
    as_postgrest: psycopg.Connection[Any],
) -> None:
    _, user = _callers(make_org)
    with as_postgrest.transaction(force_rollback=True):
        _as_caller(as_postgrest, user)
        mine = as_postgrest.execute("select public.analytics_request_org()").fetchone()
        views = as_postgrest.execute("select public.analytics_materialized_views_v1()").fetchone()
        bucket = as_postgrest.execute("select public.analytics_bucket_v1('2026-11-29 10:44:59+00')").fetchone()
    assert mine == (uuid.UUID(user.claims["organization_id"]),) and mine != (victim,)
    assert views is not None and str(victim) not in str(views)
    assert bucket is not None and bucket[0].isoformat() == "2026-11-29T10:30:00+00:00"


def test_event_partitions_made_later_have_row_level_security_and_no_grants(conn: psycopg.Connection[Any]) -> None:
    conn.execute("select public.analytics_ensure_event_partitions_v1('2031-01-01', 2)")
    rows = conn.execute(
        "select c.relname, c.relrowsecurity, has_table_privilege('anon', c.oid, 'select'),"
        " has_table_privilege('authenticated', c.oid, 'select')"
        " from pg_inherits i join pg_class c on c.oid = i.inhrelid"
        " where i.inhparent = 'public.analytics_events'::regclass"
    ).fetchall()
    assert {"analytics_events_y2031m01", "analytics_events_y2031m02", "analytics_events_default"} <= {
        r[0] for r in rows
    }
    assert [r for r in rows if r[1:] != (True, False, False)] == []
