"""Building the dashboard benchmark's database (bench/api.py): events for five organizations written straight into
analytics_events with one INSERT ... SELECT over generate_series per chunk (no HTTP, no queues), their rollups
rebuilt with the recovery path (`analytics_rebuild_v1`), their booking and client state rebuilt, the views
refreshed, then vacuumed and analyzed as autovacuum would have by the time anyone reads."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from shared.core import db, migrations, organizations
from shared.refresh import views as refresh

Figures = dict[str, Any]

TYPES = (
    ["inquiry.received"] * 3
    + ["client.created"] * 2
    + ["email.sent"] * 3
    + ["email.delivered"] * 2
    + ["email.opened"] * 2
    + ["notification.sent"] * 2
    + ["form.started"] * 2
    + [
        "form.submitted",
        "booking.confirmed",
        "payment.succeeded",
        "payment.refunded",
        "review.received",
        "journey.started",
        "app.action",
        "app.action",
    ]
)

GENERATE = """
insert into public.analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at,
  received_at, stored_at, source, client_id, booking_id, amount_minor, currency, properties)
select nextval('public.analytics_events_id_seq'), %(org)s, 'bench-' || g, t.type, 1,
       %(end)s::timestamptz - ((g * 7919) %% (%(days)s * 86400)) * interval '1 second', now(), now(), 'api',
       'c-' || (g %% %(clients)s),
       case when t.type in ('booking.confirmed', 'payment.succeeded', 'payment.refunded')
            then 'b-' || (g %% %(clients)s) end,
       case when t.type in ('booking.confirmed', 'payment.succeeded', 'payment.refunded')
            then 1000 + (g %% 500) * 100 end,
       case when t.type in ('booking.confirmed', 'payment.succeeded', 'payment.refunded')
            then (array['GBP', 'EUR'])[1 + g %% 2] end,
       jsonb_build_object(
         'lead_source', (array['instagram', 'google', 'referral', 'wedding_wire', 'other'])[1 + g %% 5],
         'channel', (array['web_form', 'email', 'phone'])[1 + g %% 3],
         'package', (array['full_day', 'half_day', 'elopement'])[1 + g %% 3],
         'kind', (array['deposit', 'instalment', 'balance'])[1 + g %% 3], 'method', 'card',
         'template', (array['welcome', 'reminder', 'follow_up', 'thanks'])[1 + g %% 4], 'campaign', '',
         'form_id', 'f-' || (g %% 3), 'journey_id', 'j-' || (g %% 2), 'platform', 'google',
         'rating', 1 + g %% 5, 'nps', g %% 11, 'action', 'open_client', 'user_id', 'u-' || (g %% 4),
         'wedding_date', (date '2027-01-01' + (g %% 365)::int)::text)
from generate_series(%(first)s::bigint, %(last)s::bigint) g
cross join lateral (select (%(types)s::text[])[1 + ((g * 2654435761) %% %(ntypes)s)] as type) t
"""


def build_database(url: str, events: int) -> tuple[list[Any], Figures]:
    """Migrate the empty database at `url`, write `events` events for five organizations (half for the first, the
    measured one), build their rollups and refresh the views; the organizations and the build's figures."""
    migrations.migrate(url)
    with db.transaction() as c:
        orgs = [
            organizations.create(
                c,
                organizations.NewOrganization(
                    name=f"Bench {i}", timezone="Europe/London" if i else "Asia/Kathmandu", currency="GBP"
                ),
            )
            for i in range(5)
        ]
    shares = [events // 2] + [events // 8] * 4
    end = datetime.now(UTC) - timedelta(minutes=15)
    t0 = time.perf_counter()
    first = 1
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("set synchronous_commit = off")
        for org, share in zip(orgs, shares, strict=True):
            for lo in range(first, first + share, 1_000_000):
                hi = min(lo + 1_000_000, first + share) - 1
                c.execute(
                    GENERATE,
                    {
                        "org": org.id,
                        "end": end,
                        "days": 365,
                        "clients": max(share // 20, 1),
                        "first": lo,
                        "last": hi,
                        "types": TYPES,
                        "ntypes": len(TYPES),
                    },
                )
            first += share
        c.execute("analyze public.analytics_events")
    t_insert = time.perf_counter() - t0
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as c:
        for org in orgs:
            c.execute(
                "select * from public.analytics_rebuild_v1(%s, %s, %s, 'aggregate')",
                (org.id, end - timedelta(days=366), end + timedelta(days=1)),
            )
        rollups = c.execute(
            "select count(*) from public.analytics_rollups where organization_id = %s", (orgs[0].id,)
        ).fetchone()
        c.execute("analyze public.analytics_rollups; analyze public.analytics_active_clients")
    t_rebuild = time.perf_counter() - t0
    t0 = time.perf_counter()
    rebuild_state(url)
    t_state = time.perf_counter() - t0
    t0 = time.perf_counter()
    refresh_views()
    t_refresh = time.perf_counter() - t0
    t0 = time.perf_counter()
    settle(url)
    t_settle = time.perf_counter() - t0
    print(
        f"# {events:,} events: insert {t_insert:.1f} s, rebuild rollups {t_rebuild:.1f} s, state {t_state:.1f} s, "
        f"refresh views {t_refresh:.1f} s, vacuum and analyze {t_settle:.1f} s; "
        f"measured organization: {shares[0]:,} events, "
        f"{rollups[0] if rollups else 0:,} rollup rows",
        flush=True,
    )

    build = {
        "events": events,
        "insert_seconds": t_insert,
        "rebuild_seconds": t_rebuild,
        "state_seconds": t_state,
        "refresh_seconds": t_refresh,
        "settle_seconds": t_settle,
        "measured_organization_events": shares[0],
        "measured_organization_rollup_rows": rollups[0] if rollups else 0,
    }
    return orgs, build


def refresh_views() -> None:
    """Refresh every materialized view under the operator's statement limit: at 10M events on a busy machine the
    refresh outlasts a function's limit (DB_STATEMENT_TIMEOUT_MS) and was cancelled."""
    with db.operator_timeouts():
        refresh.run(db.transaction, force=True)


def rebuild_state(url: str) -> None:
    """Build every organization's booking and client state (analytics_bookings, analytics_clients) from its
    events, as aggregate keeps it in production: the overview's bookings.made, bookings.cancelled and
    clients.first_seen read it, and an empty state would make those reads look free."""
    with psycopg.connect(url, autocommit=True) as c:
        for (org,) in c.execute("select id from public.organizations order by id").fetchall():
            c.execute("select public.analytics_rebuild_state_v1(%s, 'aggregate')", (org,))


def settle(url: str) -> None:
    """Do what autovacuum would have done long before anyone reads a production database (this machine's clusters
    run with autovacuum off): statistics for every table, and a vacuum of everything but the event store, whose
    visibility map lets the rollups and views be read index-only. Without it the planner guessed one row for the
    daily tier (never analyzed) and sorted where it should hash."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("analyze")
        names = c.execute(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'public' and c.relkind in ('r', 'm') and c.relname not like 'analytics_events%'"
        ).fetchall()
        for (name,) in names:
            c.execute(sql.SQL("vacuum {}").format(sql.SQL(name)))
