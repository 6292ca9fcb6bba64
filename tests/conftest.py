"""Shared fixtures: a real PostgreSQL (DATABASE_URL, or an embedded throwaway server), a migrated template
database made once per session, and a fresh clone of it for every test.

On a Supabase-like cluster (tests/supabase/cluster.py; what CI uses) the template is a clone of a database built
as a new Supabase project, the migrations run as the non-superuser `postgres`, and every test's DATABASE_URL
connects as `postgres` too, as the functions do in production.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import psycopg_pool.base
import pytest
import redis
from functions_framework import create_app
from psycopg import conninfo

from shared.core import db, embedded, migrations, organizations, replica, settings
from shared.tools import runner
from tests import factories
from tests.replica import StreamingReplica
from tests.supabase import database as supabase_database

ROOT = runner.ROOT
TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "e2e")


def _tier(item: pytest.Item) -> str | None:
    """The tier of a test is the folder it lives in: tests/unit, tests/integration or tests/e2e."""
    try:
        folder = item.path.resolve().relative_to(TESTS).parts[0]
    except ValueError:
        return None
    return folder if folder in TIERS else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its tier, by path, so `-m "not e2e"` or `-m unit` selects without a marker to forget."""
    for item in items:
        tier = _tier(item)
        if tier is not None:
            item.add_marker(getattr(pytest.mark, tier))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Unit tests run without a database: one that asks for it (any fixture built on server_url) belongs in
    tests/integration."""
    if _tier(item) == "unit" and "server_url" in getattr(item, "fixturenames", ()):
        pytest.fail(f"{item.nodeid} is a unit test but uses the database: move it to tests/integration", pytrace=False)


# psycopg_pool adds jitter to a new connection's lifetime with the global `random`, from its background threads.
# Hypothesis checks that drawing an example leaves the global random state as it found it, so a pool growing
# while a property test draws failed that test at random ("Do not use the random module inside strategies").
# The pool gets an RNG of its own in the tests; its jitter is no less random.
psycopg_pool.base.random = random.Random().random  # type: ignore[attr-defined]


def _with_db(url: str, name: str) -> str:
    return conninfo.make_conninfo(url, dbname=name)


@pytest.fixture(scope="session")
def server_url() -> str:
    """Admin URL of the server the tests use: DATABASE_URL (CI: the machine's PostgreSQL 15) or embedded."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return embedded.ensure_running(tempfile.mkdtemp(prefix="wedsync-test-pg-"), throwaway=True)


@pytest.fixture(scope="session")
def supabase_like(server_url: str) -> bool:
    """Whether the server is the Supabase-like cluster (then the app connects as the non-superuser postgres)."""
    return supabase_database.is_supabase_like(server_url)


@pytest.fixture(scope="session")
def app_url_for(server_url: str, supabase_like: bool) -> Callable[[str], str]:
    """app_url_for(dbname): the URL the pipeline uses for that database (its owner role, `postgres` on Supabase)."""
    if supabase_like:
        return lambda name: supabase_database.app_url(server_url, name)
    return lambda name: _with_db(server_url, name)


@pytest.fixture(scope="session")
def template_database(server_url: str, supabase_like: bool, app_url_for: Callable[[str], str]) -> Iterator[str]:
    name = f"wsa_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        if supabase_like:
            supabase_database.create_from_base(conn, name)
        else:
            conn.execute(psycopg.sql.SQL("create database {}").format(psycopg.sql.Identifier(name)))
    if supabase_like:
        supabase_database.add_realtime_partitions(_with_db(server_url, name))
    migrations.migrate(app_url_for(name))
    yield name
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("drop database if exists {} with (force)").format(psycopg.sql.Identifier(name)))


@pytest.fixture
def database_url(
    server_url: str,
    template_database: str,
    supabase_like: bool,
    app_url_for: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """A fresh, fully migrated database for this test; DATABASE_URL points at it."""
    name = f"wsa_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        if supabase_like:  # owned by postgres, as a project's database is
            supabase_database.create_from_base(conn, name, template=template_database)
        else:
            conn.execute(
                psycopg.sql.SQL("create database {} template {}").format(
                    psycopg.sql.Identifier(name), psycopg.sql.Identifier(template_database)
                )
            )
    url = app_url_for(name)
    monkeypatch.setenv("DATABASE_URL", url)
    settings.clear_cache()
    yield url
    db.close_pools()
    settings.clear_cache()
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("drop database if exists {} with (force)").format(psycopg.sql.Identifier(name)))


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the test database, for arranging and checking."""
    with psycopg.connect(database_url, autocommit=True) as c:
        yield c


@pytest.fixture
def make_org(database_url: str) -> Callable[..., organizations.CreatedOrganization]:
    """Factory: make_org(timezone="Asia/Kathmandu", currency="NPR") creates an organization with keys."""

    def make(
        name: str = "Rose & Thorn Weddings",
        timezone: str = "Europe/London",
        currency: str = "GBP",
        **settings_: Any,
    ) -> organizations.CreatedOrganization:
        with db.transaction() as c:
            return organizations.create(
                c,
                organizations.NewOrganization(name=name, timezone=timezone, currency=currency, settings=settings_),
            )

    return make


@pytest.fixture
def make_event() -> Callable[..., dict[str, Any]]:
    """Factory: make_event("payment.succeeded", amount_minor=5000) gives a valid event with those data fields."""
    return factories.make_event


@pytest.fixture(scope="session")
def ingest_app() -> Any:
    return create_app(target="ingest", source=str(ROOT / "functions/ingest/main.py")).test_client()


@pytest.fixture(scope="session")
def validate_app() -> Any:
    return create_app(target="validate", source=str(ROOT / "functions/validate/main.py")).test_client()


@pytest.fixture(scope="session")
def aggregate_app() -> Any:
    return create_app(target="aggregate", source=str(ROOT / "functions/aggregate/main.py")).test_client()


@pytest.fixture(scope="session")
def monitor_app() -> Any:
    return create_app(target="monitor", source=str(ROOT / "functions/monitor/main.py")).test_client()


@pytest.fixture(scope="session")
def report_app() -> Any:
    return create_app(target="report", source=str(ROOT / "functions/report/main.py")).test_client()


@pytest.fixture(scope="session")
def report_worker_app() -> Any:
    return create_app(target="report_worker", source=str(ROOT / "functions/report/main.py")).test_client()


@pytest.fixture(scope="session")
def dashboard_app() -> Any:
    return create_app(target="dashboard", source=str(ROOT / "functions/dashboard/main.py")).test_client()


def _redis_answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis for the tests (database 15): the one running on 127.0.0.1:6379 if it answers, otherwise a
    `redis-server` of our own on a free port, stopped afterwards. Says which on the terminal. It installs nothing:
    without redis-server on the PATH the test fails (`.ci/run` installs the package)."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def say(line: str) -> None:  # past the output capture, as capsys.disabled() does
        if capture is None:
            print(line, file=sys.stderr)
            return
        with capture.global_and_fixture_disabled():
            print(f"\n{line}", file=sys.stderr)

    running = "redis://127.0.0.1:6379/15"
    if _redis_answers(running):
        say(f"redis: using the Redis already running at {running}")
        yield running
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("no Redis on 127.0.0.1:6379 and no redis-server to start one: install redis-server (.ci/run does)")
    port = runner.free_port()
    url = f"redis://127.0.0.1:{port}/15"
    workdir = tmp_path_factory.mktemp("redis")
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not _redis_answers(url):
            if process.poll() is not None:
                pytest.fail(f"redis-server exited with code {process.returncode}: {' '.join(args)}")
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer on port {port} within 15 s")
            time.sleep(0.05)
        say(f"redis: no Redis on 127.0.0.1:6379; started {binary} on port {port} (pid {process.pid}) for the tests")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        say(f"redis: stopped the redis-server started for the tests (pid {process.pid})")


@pytest.fixture(scope="session")
def streaming_replica(server_url: str) -> Iterator[StreamingReplica]:
    """A real hot standby of the test server (`pg_basebackup -R` to a free port, started with pg_ctl), made once
    for the tests that ask for it and stopped and removed after them (tests/replica.py)."""
    standby = StreamingReplica(server_url)
    try:
        yield standby.start()
    finally:
        standby.remove()


@pytest.fixture
def read_replica(
    database_url: str, streaming_replica: StreamingReplica, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StreamingReplica]:
    """DATABASE_READ_URL points at this test's database on the streaming replica, which has caught up with its
    creation; afterwards the replica is replaying and running again, whatever the test did to it."""
    streaming_replica.wait_caught_up()
    monkeypatch.setenv("DATABASE_READ_URL", streaming_replica.url(database_url))
    settings.clear_cache()
    replica.forget()
    yield streaming_replica
    streaming_replica.start_again()
    streaming_replica.resume()
    replica.forget()
