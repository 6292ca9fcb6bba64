"""The daily tier (analytics_rollups_daily, analytics_client_days, analytics_client_day_firsts) stays equal to
what it is derived from: under any sequence of added and removed client days, after a rebuild, after a change of
the organization's zone, and when re-derived from scratch.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import conninfo

from shared.aggregate import aggregation, recovery
from shared.core import db, migrations
from shared.metrics import rollups, timeframes
from shared.validate import validation
from tests import factories

DAY0 = date(2026, 3, 1)
_FIRSTS = (
    "select day, case when prev_day = '-infinity' then null else prev_day end, clients "
    "from analytics_client_day_firsts where organization_id = %s"
)


def _firsts(conn: psycopg.Connection[Any], org_id: Any) -> dict[tuple[date, date | None], int]:
    return {(r[0], r[1]): r[2] for r in conn.execute(_FIRSTS, (org_id,))}


def _expected_firsts(active: set[tuple[str, date]]) -> dict[tuple[date, date | None], int]:
    per_client: dict[str, list[date]] = defaultdict(list)
    for client, day in sorted(active):
        per_client[client].append(day)
    out: Counter[tuple[date, date | None]] = Counter()
    for days in per_client.values():
        for prev, day in zip([None, *days], days, strict=False):
            out[(day, prev)] += 1
    return dict(out)


def _tier(conn: psycopg.Connection[Any], org_id: Any) -> tuple[list[tuple[Any, ...]], ...]:
    daily = conn.execute(
        "select metric, day, dim1, dim2, currency, events, amount_minor, value_sum, value_count "
        "from analytics_rollups_daily where organization_id = %s order by 1, 2, 3, 4, 5",
        (org_id,),
    ).fetchall()
    days = conn.execute(
        "select client_id, day from analytics_client_days where organization_id = %s order by 1, 2", (org_id,)
    ).fetchall()
    firsts = conn.execute(_FIRSTS + " order by 1, 2", (org_id,)).fetchall()
    return daily, days, firsts


_ENTRY = st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 14))
_STEP = st.one_of(
    st.tuples(st.just("add"), st.lists(_ENTRY, min_size=1, max_size=8)),
    st.tuples(st.just("reset"), st.integers(0, 14), st.integers(0, 6), st.lists(_ENTRY, max_size=8)),
)


def _bucket(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_STEP, min_size=1, max_size=12))
def test_client_day_firsts_stay_exact_through_aggregation_adds_and_rebuilt_ranges(
    steps: list[tuple[Any, ...]],
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    """'add' is aggregate's path (new 15-minute entries, then the add function); 'reset' is a rebuild's: the
    15-minute client sets of a day range replaced (entries removed and added), then the range re-derived."""
    org = make_org(timezone="UTC")
    active: set[tuple[str, date]] = set()
    for step in steps:
        with db.transaction() as c:
            if step[0] == "add":
                pairs = {(cl, DAY0 + timedelta(days=d)) for cl, d in step[1]}
                for cl, day in sorted(pairs):
                    c.execute(
                        "insert into analytics_active_clients values (%s, %s, %s) on conflict do nothing",
                        (org.id, _bucket(day), cl),
                    )
                c.execute(
                    "select public.analytics_client_days_add_v1(%s, %s::text[], %s::date[])",
                    (org.id, [p[0] for p in sorted(pairs)], [p[1] for p in sorted(pairs)]),
                )
                active |= pairs
            else:
                lo = DAY0 + timedelta(days=step[1])
                hi = lo + timedelta(days=step[2])
                pairs = {(cl, DAY0 + timedelta(days=d)) for cl, d in step[3]} & {
                    (cl, lo + timedelta(days=i)) for cl in "abc" for i in range(step[2] + 1)
                }
                c.execute(
                    "delete from analytics_active_clients where organization_id = %s and bucket >= %s and bucket < %s",
                    (org.id, _bucket(lo) - timedelta(hours=12), _bucket(hi) + timedelta(hours=12)),
                )
                for cl, day in sorted(pairs):
                    c.execute("insert into analytics_active_clients values (%s, %s, %s)", (org.id, _bucket(day), cl))
                c.execute("select public.analytics_derive_days_v1(%s, %s, %s)", (org.id, lo, hi))
                active = {(cl, d) for cl, d in active if not lo <= d <= hi} | pairs
        stored = {
            (r[0], r[1])
            for r in conn.execute(
                "select client_id, day from analytics_client_days where organization_id = %s", (org.id,)
            )
        }
        assert stored == active
        firsts = _firsts(conn, org.id)
        assert firsts == _expected_firsts(active)
        # Distinct clients of any whole-day window, from the firsts alone.
        for lo_i, hi_i in ((0, 15), (3, 9), (7, 8)):
            d1, d2 = DAY0 + timedelta(days=lo_i), DAY0 + timedelta(days=hi_i)
            counted = sum(n for (day, prev), n in firsts.items() if d1 <= day < d2 and (prev is None or prev < d1))
            assert counted == len({cl for cl, d in active if d1 <= d < d2})


def _post(app: Any, key: str, batch: list[dict[str, Any]]) -> None:
    answer = app.post(
        "/v1/events",
        data=json.dumps({"events": batch}),
        headers={"Authorization": f"Bearer {key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.json


def _stream(now: datetime) -> list[dict[str, Any]]:
    """Events around local midnights of many zones over two weeks, three clients, some money."""
    out = []
    for i in range(60):
        at = now - timedelta(days=i % 14, hours=(i * 7) % 24, minutes=(i * 15) % 60)
        kind = ("inquiry.received", "payment.succeeded", "email.sent")[i % 3]
        out.append(factories.make_event(kind, occurred_at=at, client_id=f"c-{i % 3}"))
    return out


def _ingest(ingest_app: Any, org: Any, batch: list[dict[str, Any]]) -> None:
    _post(ingest_app, org.ingest_key, batch)
    assert not validation.drain(db.transaction)[1]
    assert not aggregation.drain(db.transaction)[1]


def test_a_new_zone_rederives_the_daily_tier_and_invalidates_cached_answers(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(timezone="Pacific/Chatham")  # +12:45 / +13:45
    now = datetime.now(UTC).replace(microsecond=0)
    batch = _stream(now)
    _ingest(ingest_app, org, batch)
    version = conn.execute("select data_version from organizations where id = %s", (org.id,)).fetchone()
    conn.execute("update organizations set timezone = 'America/St_Johns' where id = %s", (org.id,))  # -3:30
    after = conn.execute("select data_version from organizations where id = %s", (org.id,)).fetchone()
    assert version is not None and after is not None and after[0] > version[0]
    window = (now - timedelta(days=20), now + timedelta(hours=1))
    with db.transaction() as c:
        assert recovery.reconcile(c, org.id, *window) == []
        # Whole local days of the new zone: the inquiries of each day match the events.
        today = now.astimezone(ZoneInfo("America/St_Johns")).date()
        start, end = timeframes.local_window("America/St_Johns", today - timedelta(days=13), today)
        series = rollups.timeseries(c, org.id, "inquiries", "day", start, end).series[0].points
    tz = ZoneInfo("America/St_Johns")
    expected = Counter(
        datetime.fromisoformat(e["occurred_at"]).astimezone(tz).date()
        for e in batch
        if e["type"] == "inquiry.received" and start <= datetime.fromisoformat(e["occurred_at"]) < end
    )
    assert {p.start.date(): p.value for p in series if p.value} == dict(expected)


def test_rebuild_repairs_a_damaged_daily_tier_and_a_full_rederive_changes_nothing(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(timezone="Asia/Kathmandu")
    now = datetime.now(UTC).replace(microsecond=0)
    _ingest(ingest_app, org, _stream(now))
    good = _tier(conn, org.id)
    assert all(good)
    # A full re-derivation from the 15-minute tier gives exactly what aggregation built incrementally.
    conn.execute("select public.analytics_rederive_all_days_v1(%s, 'Asia/Kathmandu')", (org.id,))
    assert _tier(conn, org.id) == good
    conn.execute("update analytics_rollups_daily set events = events + 5 where organization_id = %s", (org.id,))
    conn.execute("delete from analytics_client_days where organization_id = %s and client_id = 'c-1'", (org.id,))
    conn.execute("update analytics_client_day_firsts set clients = clients + 1 where organization_id = %s", (org.id,))
    window = (now - timedelta(days=20), now + timedelta(hours=1))
    with db.transaction() as c:
        kinds = {m.kind for m in recovery.reconcile(c, org.id, *window)}
    assert kinds == {"rollup_daily", "client_day", "client_day_first"}
    with db.transaction() as c:
        recovery.rebuild(c, org.id, *window)
    assert _tier(conn, org.id) == good
    with db.transaction() as c:
        assert recovery.reconcile(c, org.id, *window) == []


def test_whole_day_and_partial_windows_agree_with_the_events(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(timezone="Australia/Eucla", currency="AUD")  # +8:45
    now = datetime.now(UTC).replace(microsecond=0)
    batch = _stream(now)
    _ingest(ingest_app, org, batch)
    tz = ZoneInfo("Australia/Eucla")
    today = now.astimezone(tz).date()
    whole = timeframes.local_window(tz.key, today - timedelta(days=9), today - timedelta(days=2))
    windows = [
        whole,
        (whole[0] + timedelta(minutes=45), whole[1] - timedelta(hours=5, minutes=15)),
        (whole[0] - timedelta(hours=3), whole[1] + timedelta(minutes=30)),
    ]
    for start, end in windows:
        kept = [e for e in batch if start <= datetime.fromisoformat(e["occurred_at"]) < end]
        with db.transaction() as c:
            totals = rollups.totals(c, org.id, start, end).metrics
        assert totals["inquiries"][0].value == sum(e["type"] == "inquiry.received" for e in kept)
        assert totals["active_clients"][0].value == len({e["client_id"] for e in kept})
        paid = sum(e["data"]["amount_minor"] for e in kept if e["type"] == "payment.succeeded")
        assert sum(v.value or 0 for v in totals["revenue_gross"]) == paid


def test_days_whose_midnight_is_skipped_or_repeated_are_whole_days_of_the_right_events(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    """America/Santiago moves its clocks at local midnight: in September 00:00 does not exist (the day starts at
    01:00), in April 23:00-24:00 of the day before happens twice. Each local day is still whole, from its first
    real instant, and holds exactly the events whose local date it is."""
    tz = ZoneInfo("America/Santiago")
    org = make_org(timezone=tz.key)
    moments = []
    for day in (date(2026, 9, 5), date(2026, 9, 6), date(2026, 4, 4), date(2026, 4, 5)):
        around = datetime.combine(day, datetime.min.time(), tz).astimezone(UTC)
        moments += [around + timedelta(minutes=m) for m in (-90, -61, -30, -1, 0, 1, 30, 59, 61, 90)]
    batch = [
        factories.make_event("inquiry.received", occurred_at=t, client_id=f"c-{i % 4}") for i, t in enumerate(moments)
    ]
    _ingest(ingest_app, org, batch)
    for day in (date(2026, 9, 5), date(2026, 9, 6), date(2026, 9, 7), date(2026, 4, 4), date(2026, 4, 5)):
        start, end = timeframes.local_window(tz.key, day, day)
        parts = timeframes.split(tz, "all", start, end)
        assert parts.whole_days_only and (parts.first_day, parts.end_day) == (day, day + timedelta(days=1))
        mine = [e for e in batch if datetime.fromisoformat(e["occurred_at"]).astimezone(tz).date() == day]
        with db.transaction() as c:
            got = rollups.totals(c, org.id, start, end).metrics
        assert got["inquiries"][0].value == len(mine), day
        assert got["active_clients"][0].value == len({e["client_id"] for e in mine}), day
    with db.transaction() as c:
        assert recovery.reconcile(c, org.id, min(moments) - timedelta(days=2), max(moments) + timedelta(days=2)) == []


def test_upgrading_a_database_with_data_derives_the_daily_tier_of_what_was_stored_before(
    server_url: str, tmp_path: Any
) -> None:
    """A live project gets the daily tier by migration: rollups stored before it are derived in that migration,
    and reconcile then finds every tier exact."""
    name = f"wsa_upgrade_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_url, autocommit=True) as c:
        c.execute(f"create database {name}")
    url = conninfo.make_conninfo(server_url, dbname=name)
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in migrations.MIGRATIONS_DIR.glob("*.sql"):
        if path.name < "20261125007000":
            shutil.copy(path, earlier / path.name)
    try:
        migrations.migrate(url, earlier)
        with psycopg.connect(url, autocommit=True) as c:
            row = c.execute(
                "insert into organizations (name, timezone, currency) values ('Before', 'Asia/Kolkata', 'INR') "
                "returning id"
            ).fetchone()
            assert row is not None
            org = row[0]
            c.execute(
                "insert into analytics_events (id, organization_id, event_id, event_type, schema_version, "
                "occurred_at, received_at, stored_at, source, client_id, properties) "
                "select g, %s, 'e-' || g, 'inquiry.received', 1, now() - g * interval '5 hours', now(), now(), "
                "'api', 'c-' || (g %% 7), '{}'::jsonb from generate_series(1, 200) g",
                (org,),
            )
            c.execute("select * from analytics_rebuild_v1(%s, now() - interval '60 days', now())", (org,))
        migrations.migrate(url)
        with psycopg.connect(url, autocommit=True) as c:
            row = c.execute(
                "select count(distinct (occurred_at at time zone 'Asia/Kolkata')::date) from analytics_events"
            ).fetchone()
            assert row is not None
            days = row[0]
            assert c.execute(
                "select count(distinct day), sum(events) from analytics_rollups_daily where organization_id = %s",
                (org,),
            ).fetchone() == (days, 200)
            mismatches = c.execute(
                "select count(*) from analytics_reconcile_v1(%s, now() - interval '60 days', now())", (org,)
            ).fetchone()
            assert mismatches == (0,)
    finally:
        with psycopg.connect(server_url, autocommit=True) as c:
            c.execute(f"drop database if exists {name} with (force)")
