"""Shared fixtures: a real PostgreSQL (DATABASE_URL, or an embedded throwaway server), a migrated template
database made once per session, and a fresh clone of it for every test."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from functions_framework import create_app
from psycopg import conninfo

from shared import db, embedded, migrations, organizations, runner, settings
from tests import factories

ROOT = runner.ROOT


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
def template_database(server_url: str) -> Iterator[str]:
    name = f"wsa_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("create database {}").format(psycopg.sql.Identifier(name)))
    migrations.migrate(_with_db(server_url, name))
    yield name
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("drop database if exists {} with (force)").format(psycopg.sql.Identifier(name)))


@pytest.fixture
def database_url(server_url: str, template_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, fully migrated database for this test; DATABASE_URL points at it."""
    name = f"wsa_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("create database {} template {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.Identifier(template_database)
            )
        )
    url = _with_db(server_url, name)
    monkeypatch.setenv("DATABASE_URL", url)
    settings.get_settings.cache_clear()
    yield url
    db.close_pools()
    settings.get_settings.cache_clear()
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
def dashboard_app() -> Any:
    return create_app(target="dashboard", source=str(ROOT / "functions/dashboard/main.py")).test_client()
