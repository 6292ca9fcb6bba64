"""The generated wiring.sql against a real database with stand-ins for pg_cron, pg_net and Vault
(tests/supabase_standins.sql; the CI server has none of the three)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import yaml

from shared.tools import deployment, wiring
from tests import standins

SECRET = "s3cret-invoke-token"
BASE = "https://europe-west2-wedsync-test.cloudfunctions.net"


def _spec_with_cron(schedule: str = "15 6 * * 1-5") -> deployment.DeployFile:
    """The real deploy.yaml plus a scheduled function: the cron path is covered whatever deploy.yaml holds."""
    document = yaml.safe_load(deployment.DEPLOY_FILE.read_text())
    document["functions"]["nightly"] = {
        "source": "functions/validate/main.py",
        "entry_point": "validate",
        "trigger": {"kind": "cron", "schedule": schedule, "path": "/run"},
        "runtime": {"timeout_seconds": 300},
        # validate's code pseudonymises, so deploy check insists on its PII key too
        "env": {
            "DATABASE_URL": {"secret": "db"},
            "INVOKE_SECRET": {"secret": "invoke"},
            "PII_HASH_KEY": {"secret": "pii"},
        },
    }
    return deployment.parse(yaml.safe_dump(document))


def _queue_functions(spec: deployment.DeployFile) -> dict[str, deployment.Function]:
    return {n: f for n, f in spec.functions.items() if isinstance(f.trigger, deployment.QueueTrigger)}


def _expected_jobs(spec: deployment.DeployFile) -> dict[str, str]:
    """{job name: schedule} deploy.yaml asks for: a drain per queue function, a job per cron function."""
    jobs = {wiring.drain_job(n): "* * * * *" for n in _queue_functions(spec)}
    jobs |= {
        wiring.schedule_job(n): f.trigger.schedule
        for n, f in spec.functions.items()
        if isinstance(f.trigger, deployment.CronTrigger)
    }
    return jobs


@pytest.fixture
def supabase(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    standins.install(conn)
    standins.add_secret(conn, "wedsync_invoke_secret", SECRET)
    standins.add_secret(conn, "wedsync_functions_base_url", BASE + "/")
    return conn


def _send(conn: psycopg.Connection[Any], queue: str, n: int = 1) -> None:
    with conn.transaction():
        conn.execute("select pgmq.send_batch(%s, array_fill('{}'::jsonb, array[%s]))", (queue, n))


def test_wiring_sql_holds_no_url_and_no_secret() -> None:
    text = wiring.generate(_spec_with_cron())
    assert "http://" not in text and "https://" not in text
    assert "vault.decrypted_secrets" in text  # it checks Vault is there; the values are read at call time


def test_wiring_schedules_every_cron_function_and_a_drain_per_queue_function(supabase: psycopg.Connection[Any]) -> None:
    spec = _spec_with_cron()
    supabase.execute(wiring.generate(spec))
    jobs = standins.jobs(supabase)
    assert {name: schedule for name, (schedule, _) in jobs.items()} == _expected_jobs(spec)
    assert jobs[wiring.schedule_job("nightly")][0] == "15 6 * * 1-5"

    standins.run_job(supabase, wiring.schedule_job("nightly"))
    [call] = standins.take_requests(supabase)
    assert (call.method, call.url, call.body) == ("POST", f"{BASE}/nightly/run", {})
    assert call.headers["Authorization"] == f"Bearer {SECRET}"
    assert call.headers["Content-Type"] == "application/json"
    assert call.timeout_milliseconds == 300_000


def test_an_insert_into_a_queue_posts_to_its_function_at_most_once_per_second(
    supabase: psycopg.Connection[Any],
) -> None:
    spec = deployment.load()
    supabase.execute(wiring.generate(spec))
    for name, fn in _queue_functions(spec).items():
        queue = fn.trigger.queue  # type: ignore[union-attr]
        _send(supabase, queue, 3)
        [call] = standins.take_requests(supabase)
        assert (call.method, call.url, call.body) == ("POST", f"{BASE}/{name}", {})
        assert call.headers == {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {SECRET}",
            "X-WedSync-Invoked-By": "queued",
        }
        assert call.timeout_milliseconds == fn.runtime.timeout_seconds * 1000

        _send(supabase, queue)  # within the second: throttled
        assert standins.take_requests(supabase) == []

        supabase.execute(
            "update analytics_invoke.throttle set last_called_at = now() - interval '2 seconds' "
            "where function_name = %s",
            (name,),
        )
        _send(supabase, queue)
        assert len(standins.take_requests(supabase)) == 1


def test_a_rolled_back_insert_invokes_nothing(supabase: psycopg.Connection[Any]) -> None:
    supabase.execute(wiring.generate(deployment.load()))
    with pytest.raises(RuntimeError), supabase.transaction():
        supabase.execute("select pgmq.send('ingest', '{}'::jsonb)")
        raise RuntimeError("producer fails after queueing")
    assert standins.take_requests(supabase) == []


def test_the_safety_net_posts_once_per_batch_waiting_up_to_max_instances(supabase: psycopg.Connection[Any]) -> None:
    spec = deployment.load()
    supabase.execute(wiring.generate(spec))
    name, fn = next(iter(_queue_functions(spec).items()))
    trigger = fn.trigger
    assert isinstance(trigger, deployment.QueueTrigger)

    standins.run_job(supabase, wiring.drain_job(name))  # nothing waiting: no call, no cold start
    assert standins.take_requests(supabase) == []

    _send(supabase, trigger.queue, trigger.batch_size + 1)
    standins.take_requests(supabase)  # the insert's own wake-up
    standins.run_job(supabase, wiring.drain_job(name))
    calls = standins.take_requests(supabase)
    assert len(calls) == min(fn.runtime.max_instances, 2)
    assert {c.headers["X-WedSync-Invoked-By"] for c in calls} == {"safety-net"}

    _send(supabase, trigger.queue, trigger.batch_size * (fn.runtime.max_instances + 3))
    standins.take_requests(supabase)
    standins.run_job(supabase, wiring.drain_job(name))
    assert len(standins.take_requests(supabase)) == fn.runtime.max_instances


def test_a_per_function_url_in_vault_wins_over_the_base_url(supabase: psycopg.Connection[Any]) -> None:
    supabase.execute(wiring.generate(deployment.load()))
    standins.add_secret(supabase, "wedsync_function_url_validate", "https://validate-abc123-nw.a.run.app")
    _send(supabase, "ingest")
    [call] = standins.take_requests(supabase)
    assert call.url == "https://validate-abc123-nw.a.run.app"


def test_without_vault_secrets_inserts_still_succeed_and_scheduled_calls_fail_loudly(
    conn: psycopg.Connection[Any],
) -> None:
    standins.install(conn)
    conn.execute(wiring.generate(_spec_with_cron()))
    _send(conn, "ingest")  # the producer is never broken by missing wiring; the message waits in the queue
    assert standins.take_requests(conn) == []
    assert conn.execute("select count(*) from pgmq.q_ingest").fetchone() == (1,)
    with pytest.raises(psycopg.errors.RaiseException, match="wedsync_invoke_secret"):
        standins.run_job(conn, wiring.schedule_job("nightly"))


def test_applying_again_converges_and_removed_functions_lose_their_wiring(supabase: psycopg.Connection[Any]) -> None:
    full = _spec_with_cron()
    supabase.execute(wiring.generate(full))
    supabase.execute(wiring.generate(full))
    assert {name: schedule for name, (schedule, _) in standins.jobs(supabase).items()} == _expected_jobs(full)

    changed = _spec_with_cron("0 * * * *")
    supabase.execute(wiring.generate(changed))
    assert standins.jobs(supabase)[wiring.schedule_job("nightly")][0] == "0 * * * *"

    only_ingest = deployment.DeployFile(platform=full.platform, functions={"ingest": full.functions["ingest"]})
    supabase.execute(wiring.generate(only_ingest))
    assert standins.jobs(supabase) == {}
    triggers = supabase.execute("select tgname from pg_trigger where tgname like 'wedsync_wake_%'").fetchall()
    assert triggers == []
    _send(supabase, "ingest")
    assert standins.take_requests(supabase) == []


def test_wiring_refuses_to_run_before_the_migrations(server_url: str) -> None:
    name = "wsa_wiring_unmigrated"
    with psycopg.connect(server_url, autocommit=True) as c:
        c.execute(f"drop database if exists {name} with (force)")
        c.execute(f"create database {name}")
    try:
        with (
            psycopg.connect(psycopg.conninfo.make_conninfo(server_url, dbname=name), autocommit=True) as c,
            pytest.raises(psycopg.errors.RaiseException, match="apply the migrations first"),
        ):
            c.execute(wiring.generate(deployment.load()))
    finally:
        with psycopg.connect(server_url, autocommit=True) as c:
            c.execute(f"drop database if exists {name} with (force)")


def test_concurrent_producers_never_wait_on_each_other_and_wake_the_function_once(
    supabase: psycopg.Connection[Any], database_url: str
) -> None:
    supabase.execute(wiring.generate(deployment.load()))
    with psycopg.connect(database_url) as first, psycopg.connect(database_url, autocommit=True) as second:
        # The first producer holds the throttle row and has not committed.
        first.execute("select pgmq.send('ingest', '{\"n\": 1}'::jsonb)")
        second.execute("set statement_timeout = '5s'")  # waiting on the first producer would fail here
        second.execute("select pgmq.send('ingest', '{\"n\": 2}'::jsonb)")
        assert standins.take_requests(supabase) == []  # the second skipped; the first has not committed
        first.commit()
    [call] = standins.take_requests(supabase)
    assert call.url == f"{BASE}/validate"
    assert supabase.execute("select count(*) from pgmq.q_ingest").fetchone() == (2,)
