from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.core import db
from shared.monitor import erasure, retention
from shared.tools import cli
from shared.validate import validation
from tests import factories
from tests.quality_helpers import store_events

_UNTOUCHED = (
    "analytics_event_keys",
    "analytics_dead_letters",
    "analytics_source_stats",
    "organizations",
    "api_keys",
    "analytics_quality_checks",
)


def _counts(conn: psycopg.Connection[Any], tables: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in tables:
        row = conn.execute(psycopg.sql.SQL("select count(*) from {}").format(psycopg.sql.Identifier(t))).fetchone()
        assert row is not None
        counts[t] = row[0]
    return counts


def _partitions(conn: psycopg.Connection[Any]) -> set[str]:
    return {r[0] for r in conn.execute("select name from analytics_event_partitions_v1()")}


def _rollups(conn: psycopg.Connection[Any]) -> None:
    """A stand-in rollup table (the aggregation stage owns the real ones): retention must leave it alone."""
    conn.execute("create table analytics_rollups_standin (organization_id uuid, day date, events bigint)")
    conn.execute(
        "insert into analytics_rollups_standin select o.id, d::date, 5 from organizations o, "
        "generate_series(now() - interval '900 days', now(), interval '30 days') d"
    )


def test_retention_drops_whole_old_partitions_deletes_rows_per_organization_and_touches_nothing_else(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    now = datetime.now(UTC)
    short, default = make_org(retention_days=30), make_org(name="Default")
    ancient = (now - timedelta(days=800)).replace(day=15)
    conn.execute("select analytics_ensure_event_partitions_v1(%s::date, 1)", (ancient.date(),))
    ancient_partition = f"analytics_events_y{ancient:%Y}m{ancient:%m}"
    assert ancient_partition in _partitions(conn)
    for org in (short, default):
        store_events(conn, org.id, occurred_at=ancient, stored_at=now - timedelta(days=1), n=2)  # an import
        store_events(conn, org.id, occurred_at=now - timedelta(days=60), n=3)
        store_events(conn, org.id, occurred_at=now - timedelta(days=10), n=1)
    _rollups(conn)
    late = factories.make_event("app.action", occurred_at=now - timedelta(days=60))
    assert (
        json.loads(
            ingest_app.post(
                "/v1/events",
                data=json.dumps(late),
                content_type="application/json",
                headers={"Authorization": f"Bearer {short.ingest_key}"},
            ).data
        )["accepted"]
        == 1
    )
    validation.drain(db.transaction)
    before = _counts(conn, (*_UNTOUCHED, "analytics_rollups_standin"))

    report = retention.run(db.transaction, now=now)

    assert report.partitions_dropped == [ancient_partition] and report.rows_in_dropped_partitions == 4
    assert ancient_partition not in _partitions(conn)
    assert report.rows_deleted == {short.id: 4}
    left = conn.execute("select organization_id, count(*) from analytics_events group by 1").fetchall()
    assert dict(left) == {short.id: 1, default.id: 4}
    assert _counts(conn, (*_UNTOUCHED, "analytics_rollups_standin")) == before
    # The keys are kept within the re-send window: a resend of an expired event is a duplicate, not a second count.
    again = ingest_app.post(
        "/v1/events",
        data=json.dumps(late),
        content_type="application/json",
        headers={"Authorization": f"Bearer {short.ingest_key}"},
    )
    assert again.json == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert retention.run(db.transaction, now=now).rows_deleted == {}  # nothing more is due


def test_one_organization_with_long_retention_keeps_partitions_and_rows_are_deleted_instead(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    keeper, short = make_org(retention_days=3650), make_org(name="Short", retention_days=365)
    old = (now - timedelta(days=600)).replace(day=15)
    store_events(conn, keeper.id, occurred_at=old, n=2)
    store_events(conn, short.id, occurred_at=old, n=3)
    partitions = _partitions(conn)
    assert cli.main(["retention", "run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["partitions_dropped"] == [] and _partitions(conn) == partitions
    assert report["rows_deleted"] == {str(short.id): 3}
    assert conn.execute("select organization_id from analytics_events").fetchall() == [(keeper.id,), (keeper.id,)]


def _everything_mentioning(conn: psycopg.Connection[Any], needles: list[str], but_not: str) -> dict[str, int]:
    """Rows of every table in the public and pgmq schemas whose text mentions a needle (and not `but_not`)."""
    found: dict[str, int] = {}
    tables = conn.execute("select schemaname, tablename from pg_tables where schemaname in ('public', 'pgmq')")
    for schema, table in tables.fetchall():
        ident = psycopg.sql.Identifier(schema, table)
        for needle in needles:
            row = conn.execute(
                psycopg.sql.SQL("select count(*) from {} t where t::text like %s and t::text not like %s").format(
                    ident
                ),
                (f"%{needle}%", f"%{but_not}%"),
            ).fetchone()
            assert row is not None
            if row[0]:
                found[f"{schema}.{table}:{needle}"] = row[0]
    return found


def test_erasing_a_client_leaves_nothing_of_them_in_events_keys_dead_letters_or_queues(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org, other_org = make_org(), make_org(name="Other")
    ava, ben = "client-ava-7731", "client-ben-1200"
    post = {"content_type": "application/json"}

    def send(key: str, events: list[dict[str, Any]]) -> None:
        assert (
            ingest_app.post(
                "/v1/events", data=json.dumps({"events": events}), **post, headers={"Authorization": f"Bearer {key}"}
            ).status_code
            == 202
        )

    send(
        org.ingest_key,
        [
            factories.make_event("client.created", client_id=ava, email="Ava@Example.com", phone="+44 7700 900123"),
            factories.make_event("inquiry.received", client_id=ava),
            factories.make_event("payment.succeeded", client_id=ava, occurred_at=datetime.now(UTC) - timedelta(days=3)),
            factories.make_event("email.sent", client_id=None, recipient="ava@example.com"),
            factories.make_event("client.created", client_id=ben, email="ben@example.com", phone="+44 7700 900999"),
            factories.make_event("inquiry.received", client_id=ben),
            factories.make_event("app.action", client_id=ava) | {"surprise": 1},  # a dead letter
        ],
    )
    send(other_org.ingest_key, [factories.make_event("inquiry.received", client_id=ava)])  # another tenant's
    validation.drain(db.transaction)
    send(
        org.ingest_key,
        [factories.make_event("email.opened", client_id=ava), factories.make_event("email.opened", client_id=ben)],
    )  # still queued
    before = conn.execute("select count(*) from analytics_events where organization_id = %s", (org.id,)).fetchone()
    assert before == (6,)

    with db.transaction() as c:
        report = erasure.erase_client(c, org.id, ava)
    assert report.counts["events"] == 4 and report.counts["event_keys"] == 4
    assert report.counts["dead_letters"] == 1 and report.counts["queued_events"] == 1
    assert report.rollup_windows == 2 and report.rollups_corrected is True
    validation.drain(db.transaction)

    mine = conn.execute("select client_id from analytics_events where organization_id = %s", (org.id,)).fetchall()
    assert sorted(r[0] for r in mine) == [ben, ben, ben]
    row = conn.execute(
        "select properties ->> 'email' from analytics_events where organization_id = %s "
        "and event_type = 'client.created'",
        (org.id,),
    ).fetchone()
    assert row is not None
    pseudonym = row[0]
    assert pseudonym.startswith("pii:")
    from shared.catalog import privacy
    from shared.core import settings

    key = settings.get_settings().pii_hash_key.get_secret_value().encode()
    ava_pseudonym = privacy.pseudonym("ava@example.com", key)
    assert _everything_mentioning(conn, [ava, ava_pseudonym], but_not=str(other_org.id)) == {}
    # The other organization's own client with the same id is not theirs to erase.
    assert conn.execute(
        "select count(*) from analytics_events where organization_id = %s and client_id = %s", (other_org.id, ava)
    ).fetchone() == (1,)
    audit = conn.execute("select subject_hash, counts from analytics_erasure_audit").fetchall()
    assert len(audit) == 1 and audit[0][0] == report.subject_hash and ava not in json.dumps(audit[0][1])
    rebuilds = conn.execute(
        "select organization_id, events_removed, done_at is not null from analytics_rollup_rebuilds "
        "order by occurred_from"
    ).fetchall()
    assert [(r[0], r[2]) for r in rebuilds] == [(org.id, True), (org.id, True)]
    assert sum(r[1] for r in rebuilds) == 4


def test_erasure_leaves_rollups_equal_to_a_recomputation_from_the_remaining_events(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    org = make_org()
    day = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=2)
    store_events(conn, org.id, occurred_at=day, n=2, client_id="c-9")
    store_events(conn, org.id, occurred_at=day, n=1, client_id="c-10")
    window = (day - timedelta(days=1), day + timedelta(days=1))
    conn.execute("select * from analytics_rebuild_v1(%s, %s, %s)", (org.id, *window))  # rollups count all 3
    counted = "select coalesce(sum(events), 0) from analytics_rollups where organization_id = %s and metric = %s"
    metric = conn.execute(
        "select metric from analytics_rollups where organization_id = %s limit 1", (org.id,)
    ).fetchone()
    assert metric is not None
    before = conn.execute(counted, (org.id, metric[0])).fetchone()
    assert cli.main(["erase-client", "--org", str(org.id), "--client", "c-9", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rollups_corrected"] is True and out["counts"]["events"] == 2
    after = conn.execute(counted, (org.id, metric[0])).fetchone()
    assert before is not None and after is not None and after[0] == before[0] - 2
    assert conn.execute("select count(*) from analytics_reconcile_v1(%s, %s, %s)", (org.id, *window)).fetchone() == (0,)
    assert conn.execute("select count(*) from analytics_rollup_rebuilds where done_at is null").fetchone() == (0,)


def test_a_partition_that_cannot_be_locked_is_kept_and_its_rows_deleted_instead_and_bad_settings_mean_default(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    orgs = [make_org(name=f"Org {i}", retention_days=value) for i, value in enumerate(["forever", 0, 1.5, -3])]
    ancient = (now - timedelta(days=800)).replace(day=15)
    conn.execute("select analytics_ensure_event_partitions_v1(%s::date, 1)", (ancient.date(),))
    for org in orgs:
        store_events(conn, org.id, occurred_at=ancient)
        store_events(conn, org.id, occurred_at=now - timedelta(days=700))  # inside the default 730 days
    with db.transaction() as c:
        cutoffs = retention.cutoffs(c, now)
    assert set(cutoffs.values()) == {now - timedelta(days=730)}
    monkeypatch.setenv("RETENTION_LOCK_TIMEOUT_MS", "200")
    from shared.core import settings

    settings.clear_cache()
    with psycopg.connect(database_url) as reader:  # a long dashboard query holding the table
        reader.execute("select count(*) from analytics_events")
        report = retention.run(db.transaction, now=now)
        reader.rollback()
    name = f"analytics_events_y{ancient:%Y}m{ancient:%m}"
    assert report.partitions_dropped == [] and "lock" in report.partitions_kept[name]
    assert sum(report.rows_deleted.values()) == 4
    assert conn.execute("select count(*) from analytics_events").fetchone() == (4,)
    assert name in _partitions(conn)


def _wait_until_blocked(conn: psycopg.Connection[Any], query_like: str) -> None:
    for _ in range(500):
        row = conn.execute(
            "select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like %s", (query_like,)
        ).fetchone()
        if row:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"nothing blocked on {query_like}")


def test_an_erasure_waits_for_a_validate_batch_holding_the_clients_events_and_then_removes_them(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any], database_url: str
) -> None:
    org = make_org()
    events = [factories.make_event("inquiry.received", client_id="c-late") for _ in range(3)]
    assert (
        ingest_app.post(
            "/v1/events",
            data=json.dumps({"events": events}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {org.ingest_key}"},
        ).json["accepted"]
        == 3
    )
    results: dict[str, Any] = {}
    with psycopg.connect(database_url) as blocker:
        # Hold validate at the end of its batch (the counters), after it read the messages and stored events.
        blocker.execute("lock table analytics_source_stats in exclusive mode")
        batch = threading.Thread(target=lambda: results.update(batch=validation.run_batch(db.transaction)))
        batch.start()
        _wait_until_blocked(conn, "%analytics_source_stats%")

        def erase() -> None:
            with db.transaction() as c:
                results["erasure"] = erasure.erase_client(c, org.id, "c-late")

        eraser = threading.Thread(target=erase)
        eraser.start()
        _wait_until_blocked(conn, "%for update%")  # the erasure waits for the batch's queue messages
        blocker.rollback()
    batch.join(30)
    eraser.join(30)
    assert results["batch"].stored == 3
    assert results["erasure"].counts["events"] == 3 and results["erasure"].counts["queued_events"] == 0
    assert conn.execute("select count(*) from analytics_events").fetchone() == (0,)
    assert conn.execute("select count(*) from analytics_event_keys").fetchone() == (0,)


def test_the_retention_functions_run_for_the_scheduler_only_the_cron_plans_and_the_worker_deletes(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions_framework import create_app

    from shared.core import settings
    from shared.tools import runner

    org = make_org(retention_days=30)
    store_events(conn, org.id, occurred_at=datetime.now(UTC) - timedelta(days=45), n=2)
    monkeypatch.setenv("INVOKE_SECRET", "cron-secret")
    settings.clear_cache()
    source = str(runner.ROOT / "functions/retention/main.py")
    cron = create_app(target="retention_run", source=source).test_client()
    worker = create_app(target="retention_worker", source=source).test_client()
    assert cron.post("/").status_code == 401 and worker.post("/").status_code == 401
    planned = cron.post("/", headers={"Authorization": "Bearer cron-secret"})
    assert planned.status_code == 200 and planned.json["organizations_queued"] >= 1
    assert conn.execute("select count(*) from analytics_events").fetchone() == (2,)  # the cron only planned
    drained = worker.post("/", headers={"Authorization": "Bearer cron-secret"})
    assert drained.status_code == 200 and drained.json["rows_deleted"] == 2 and drained.json["more"] is False
    assert conn.execute("select count(*) from analytics_events").fetchone() == (0,)
