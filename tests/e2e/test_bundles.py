"""Every deploy bundle, installed into its own empty virtualenv and served by functions-framework from the
bundle directory (no repository on the path), called the way production calls it: ingest over HTTP with an
organization key, queue and cron functions with exactly the requests the generated wiring.sql makes.

The database side uses the pg_cron / pg_net / Vault stand-ins of tests/supabase_standins.sql: the test plays
pg_net's worker (sends each recorded request) and pg_cron (runs the scheduled commands).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from shared.tools import bundles, deployment, runner, wiring
from tests import standins

# The first bundle test builds every bundle into its own virtualenv (the session fixture `built`): ~310 s on the
# busy 2-core machine with pip's cache warm, longer cold. Its timeout covers that setup.
pytestmark = [pytest.mark.e2e, pytest.mark.bundles, pytest.mark.timeout(1800)]

SECRET = "e2e-invoke-secret"
KNOWN_SECRETS = {"INVOKE_SECRET": SECRET, "PII_HASH_KEY": "e2e-pii-hash-key"}


@dataclass(frozen=True)
class Built:
    spec: deployment.DeployFile
    out: Path
    venvs: dict[str, Path]


def _install(bundle: Path, venv: Path) -> None:
    """`pip install -r requirements.txt` into a new, empty virtualenv (pip itself runs from outside it, which
    saves seeding pip into every venv), then `pip check`: the pinned set must be complete and consistent."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "--disable-pip-version-check"]
    for args in (["install", "-q", "--no-compile", "-r", "requirements.txt"], ["check"]):
        result = subprocess.run(pip + args, cwd=bundle, capture_output=True, text=True)
        assert result.returncode == 0, (
            f"pip {args[0]} for {bundle.name} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
        )


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """`deploy plan` for every function, each bundle pip-installed into a fresh virtualenv, once."""
    base = tmp_path_factory.mktemp("deploy")
    spec = deployment.load()
    made, _ = bundles.plan(spec, base / "dist")
    venvs = {b.name: base / "venvs" / b.name for b in made}
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda b: _install(b.path, venvs[b.name]), made))
    return Built(spec, base / "dist", venvs)


@dataclass
class Served:
    name: str
    url: str
    process: subprocess.Popen[bytes]


def _environment(name: str, fn: deployment.Function, database_url: str, venv: Path) -> dict[str, str]:
    """What Cloud Run gives the function: its deploy.yaml env (secrets resolved), K_SERVICE; no more."""
    secrets, literals = bundles.runtime_env(fn)
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.defpath}",
        "HOME": str(venv),
        "PYTHONUNBUFFERED": "1",
        "K_SERVICE": name,
        **literals,
    }
    for var, secret in secrets.items():
        env[var] = database_url if var == "DATABASE_URL" else KNOWN_SECRETS.get(var, f"e2e-{secret}")
    return env


@pytest.fixture
def serve(built: Built, database_url: str) -> Iterator[Callable[[], dict[str, Served]]]:
    started: dict[str, Served] = {}

    def start() -> dict[str, Served]:
        for name, fn in built.spec.functions.items():
            port = runner.free_port()
            process = subprocess.Popen(
                [
                    str(built.venvs[name] / "bin" / "functions-framework"),
                    "--target",
                    fn.entry_point,
                    "--source",
                    "main.py",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                cwd=built.out / name,
                env=_environment(name, fn, database_url, built.venvs[name]),
            )
            started[name] = Served(name, f"http://127.0.0.1:{port}", process)
        for served in started.values():
            runner.wait_ready(served, timeout=60.0)
        return started

    yield start
    for served in started.values():
        served.process.terminate()
    for served in started.values():
        try:
            served.process.wait(10)
        except subprocess.TimeoutExpired:
            served.process.kill()


def _queue_depth(conn: psycopg.Connection[Any], queue: str) -> int:
    """Messages a call could read now: a delayed message (the refresh debounce) is not pending work yet."""
    row = conn.execute(
        psycopg.sql.SQL("select count(*) from pgmq.{} where vt <= now()").format(psycopg.sql.Identifier(f"q_{queue}"))
    ).fetchone()
    assert row is not None
    return int(row[0])


def _pump(
    conn: psycopg.Connection[Any], spec: deployment.DeployFile, rounds: int = 40
) -> list[tuple[standins.Request, requests.Response]]:
    """Play pg_net's worker until nothing is pending; when calls stop while messages wait, play pg_cron's
    safety net. Returns every request sent and its answer."""
    queue_fns = {
        n: f.trigger.queue for n, f in spec.functions.items() if isinstance(f.trigger, deployment.QueueTrigger)
    }
    sent: list[tuple[standins.Request, requests.Response]] = []
    for _ in range(rounds):
        calls = standins.take_requests(conn)
        if not calls:
            waiting = [n for n, q in queue_fns.items() if _queue_depth(conn, q) > 0]
            if not waiting:
                return sent
            for name in waiting:
                standins.run_job(conn, wiring.drain_job(name))
            continue
        sent += [(call, standins.send(conn, call)) for call in calls]
    answers = [(c.url, r.status_code) for c, r in sent]
    raise AssertionError(f"the queues did not drain; answers so far: {answers}")


def test_bundles_run_alone_from_an_empty_virtualenv(built: Built, tmp_path: Path) -> None:
    for name, venv in built.venvs.items():
        probe = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import importlib.util as u; print(u.find_spec('shared'), u.find_spec('functions'))",
            ],
            cwd=tmp_path,
            env={"PATH": os.defpath},
            capture_output=True,
            text=True,
            check=True,
        )
        assert probe.stdout.split() == ["None", "None"], f"{name}'s virtualenv sees the repository"
        assert (built.out / name / "main.py").is_file()
        assert (built.out / name / "shared" / "core" / "sql").is_dir()
        assert sorted(p.name for p in (built.out / name / "supabase" / "migrations").glob("*.sql")) == sorted(
            p.name for p in (runner.ROOT / "supabase" / "migrations").glob("*.sql")
        )


def test_deployed_bundles_serve_health_ingest_and_the_wired_queue_calls(
    built: Built,
    serve: Callable[[], dict[str, Served]],
    conn: psycopg.Connection[Any],
    make_org: Callable[..., Any],
    make_event: Callable[..., dict[str, Any]],
) -> None:
    spec = built.spec
    served = serve()
    standins.install(conn)
    standins.add_secret(conn, "wedsync_invoke_secret", SECRET)
    for name, fn in served.items():
        standins.add_secret(conn, f"wedsync_function_url_{name}", fn.url)
    conn.execute((built.out / "supabase" / "wiring.sql").read_text())

    for name, fn in served.items():
        health = requests.get(fn.url + "/healthz", timeout=10)
        assert health.status_code == 200, f"{name}: {health.text}"
        assert health.json()["migrations_current"] is True

    invoked = {n for n, f in spec.functions.items() if f.invoked_by_database}
    for name in invoked:
        path = getattr(spec.functions[name].trigger, "path", "/")
        assert requests.post(served[name].url + path, timeout=10).status_code == 401, name
        wrong = requests.post(served[name].url + path, headers={"Authorization": "Bearer not-it"}, timeout=10)
        assert wrong.status_code == 401, name

    org = make_org()
    posted = [make_event("inquiry.received", lead_source="instagram"), make_event("payment.succeeded")]
    keyless = requests.post(served["ingest"].url + "/v1/events", json={"events": posted}, timeout=10)
    assert keyless.status_code == 401
    accepted = requests.post(
        served["ingest"].url + "/v1/events",
        json={"events": posted},
        headers={"Authorization": f"Bearer {org.ingest_key}"},
        timeout=30,
    )
    assert accepted.status_code == 202, accepted.text

    calls = _pump(conn, spec)
    assert calls, "queueing the events invoked no function"
    assert [(c.url, r.status_code, r.text) for c, r in calls if r.status_code != 200] == []
    woken = {name for name, fn in served.items() for c, _ in calls if c.url.startswith(fn.url)}
    for name, function in spec.functions.items():
        if isinstance(function.trigger, deployment.QueueTrigger) and function.trigger.queue == "ingest":
            assert name in woken
            assert any(
                c.headers["X-WedSync-Invoked-By"] == "queued" for c, _ in calls if c.url.startswith(served[name].url)
            )
    stored = conn.execute(
        "select event_id from analytics_events where organization_id = %s order by 1", (org.id,)
    ).fetchall()
    assert [r[0] for r in stored] == sorted(e["event_id"] for e in posted)

    for name, function in spec.functions.items():
        if isinstance(function.trigger, deployment.CronTrigger):
            standins.run_job(conn, wiring.schedule_job(name))
            answers = _pump(conn, spec)
            mine = [(c, r) for c, r in answers if c.url.startswith(served[name].url)]
            assert mine and all(r.status_code == 200 for _, r in mine), f"{name}: {[r.text for _, r in mine]}"
