"""Every transaction the functions open sets its own time limits, for itself only (the transaction pooler hands
the server connection to someone else afterwards), and a statement past its limit surfaces as DatabaseTimeout."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shared.core import db, errors, migrations, settings
from shared.dashboard import auth, serving
from shared.tools import cli


@pytest.fixture
def limits(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Factory: limits(statement_ms=250, idle_ms=400) sets the settings and starts from fresh pools."""

    def set_(*, statement_ms: int | None = None, idle_ms: int | None = None, cli_ms: int | None = None) -> None:
        for name, value in (
            ("DB_STATEMENT_TIMEOUT_MS", statement_ms),
            ("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", idle_ms),
            ("CLI_STATEMENT_TIMEOUT_MS", cli_ms),
        ):
            if value is not None:
                monkeypatch.setenv(name, str(value))
        settings.clear_cache()
        db.close_pools()

    yield set_
    db.close_pools()


def _setting(conn: psycopg.Connection[Any], name: str) -> str:
    row = conn.execute("select setting from pg_settings where name = %s", (name,)).fetchone()
    assert row is not None
    return str(row[0])


def test_a_function_transaction_runs_under_the_configured_limits(limits: Callable[..., None]) -> None:
    limits(statement_ms=1234, idle_ms=5678)
    with db.transaction() as conn:
        assert _setting(conn, "statement_timeout") == "1234"
        assert _setting(conn, "idle_in_transaction_session_timeout") == "5678"


def test_the_defaults_are_30_s_per_statement_and_60_s_idle(limits: Callable[..., None]) -> None:
    limits()
    with db.transaction() as conn:
        assert conn.execute("show statement_timeout").fetchone() == ("30s",)
        assert conn.execute("show idle_in_transaction_session_timeout").fetchone() == ("1min",)


def test_the_limits_end_with_the_transaction_so_they_never_leak_through_the_pooler(
    limits: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "1")  # one server connection, handed from client to client
    limits(statement_ms=1234)
    with db.transaction() as conn:
        server_pid = conn.info.backend_pid
    with db.pool().connection() as conn:  # the same server connection, as the next pooler client would get it
        assert conn.info.backend_pid == server_pid
        assert _setting(conn, "statement_timeout") == "0"


def test_a_statement_past_its_limit_is_cancelled_as_a_transient_timeout(limits: Callable[..., None]) -> None:
    limits(statement_ms=200)
    started = time.monotonic()
    with pytest.raises(errors.DatabaseTimeout, match="statement timeout") as raised, db.transaction() as conn:
        conn.execute("select pg_sleep(5)")
    assert raised.value.transient and time.monotonic() - started < 3
    with db.transaction() as conn:  # the pool's connection is still good
        assert conn.execute("select 1").fetchone() == (1,)


def test_a_transaction_left_idle_past_its_limit_loses_its_connection_and_the_pool_recovers(
    limits: Callable[..., None],
) -> None:
    limits(idle_ms=200)
    with pytest.raises(errors.DatabaseTimeout, match="idle-in-transaction") as raised, db.transaction() as conn:
        conn.execute("select 1")
        time.sleep(0.8)  # a function stuck between statements holding its locks
        conn.execute("select 1")
    assert raised.value.transient
    with db.transaction() as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_the_dashboard_sets_its_viewer_and_the_limits_in_the_same_transaction(
    limits: Callable[..., None], make_org: Callable[..., Any]
) -> None:
    limits(statement_ms=4321)
    viewer = auth.authenticate(make_org().read_key)
    with serving.as_viewer(viewer) as conn:
        assert _setting(conn, "statement_timeout") == "4321"
        assert conn.execute("select current_user, current_setting('jit')").fetchone() == ("authenticated", "off")


def test_operator_commands_use_their_own_statement_limit(
    limits: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI (rebuild, retention run, backfills) is long on purpose: no statement limit by default."""
    limits(statement_ms=200)
    seen: list[str] = []

    def command(args: argparse.Namespace) -> int:
        with db.transaction() as conn:
            conn.execute("select pg_sleep(0.4)")  # longer than a function may take
            seen.append(_setting(conn, "statement_timeout"))
        return 0

    parser = argparse.ArgumentParser()
    parser.set_defaults(func=command)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main([]) == 0
    assert seen == ["0"]
    limits(cli_ms=900_000)
    assert cli.main([]) == 0 and seen[-1] == "900000"
    with db.transaction() as conn:  # outside the command: the functions' limit again
        assert _setting(conn, "statement_timeout") == "200"


def test_migrations_are_not_cut_by_a_default_statement_timeout(
    database_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """Supabase gives roles default timeouts; a long migration (an index on a big table) must still finish."""
    conn.execute(
        psycopg.sql.SQL("alter database {} set statement_timeout = '100ms'").format(
            psycopg.sql.Identifier(conn.info.dbname)
        )
    )
    (tmp_path / "29991231000000_slow.sql").write_text("select pg_sleep(0.5);\n")
    applied = migrations.migrate(database_url, tmp_path)
    assert [m.version for m in applied] == ["29991231000000"]
