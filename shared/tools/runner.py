"""The local pipeline: every function of deploy.yaml served by functions-framework, queue functions woken
the way production wakes them.

Production invokes a queue function with an HTTP POST soon after a message is queued (docs/triggering.md).
Locally a dispatcher thread per queue does the same: it LISTENs to pgmq's insert notification, POSTs to the
function, and keeps POSTing while the function says more is waiting. A slow poll covers missed notifications.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import psycopg
import requests

from shared.tools import deployment, schedules
from shared.tools import settings as tools_settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningFunction:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    spec: deployment.Function
    extra_env: dict[str, str] | None = None
    restarts: int = 0

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def signal(self, signum: int) -> None:
        """Signal the whole process group: gunicorn's arbiter and the workers it forked."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it may die between the check and the signal
                os.killpg(self.process.pid, signum)

    def stop(self, timeout: float = 10.0) -> None:
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would: no cleanup of any kind."""
        self.signal(signal.SIGKILL)
        self.process.wait(10)


@dataclass
class Pipeline:
    """Handles of a running local pipeline; `stop()` ends everything it started."""

    database_url: str
    spec: deployment.DeployFile
    functions: dict[str, RunningFunction] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return self.functions[name].url

    def stop(self) -> None:
        with self._lock:  # the supervisor restarts under this lock, so nothing starts after this point
            self._stop.set()
        for fn in {id(f): f for f in self.functions.values()}.values():  # shared processes stop once
            fn.stop()
        for thread in self._threads:
            thread.join(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _auth_headers() -> dict[str, str]:
    secret = tools_settings.get().invoke_secret
    return {"Authorization": f"Bearer {secret.get_secret_value()}"} if secret else {}


def start_function(
    name: str,
    spec: deployment.Function,
    database_url: str,
    port: int,
    extra_env: dict[str, str] | None = None,
) -> RunningFunction:
    """Serve one function with functions-framework (gunicorn) on 127.0.0.1:port."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # libpq names each connection after its function (pg_stat_activity.application_name): who holds which
    # connection, and what each stage costs the server (bench/cpu.py).
    env.setdefault("PGAPPNAME", f"wedsync-{name}")
    command = [
        sys.executable,
        "-m",
        "functions_framework",
        "--target",
        spec.entry_point,
        "--source",
        str(ROOT / spec.source),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    return RunningFunction(name, f"http://127.0.0.1:{port}", process, spec, extra_env)


class _Served(Protocol):
    name: str
    url: str
    process: subprocess.Popen[bytes]


def wait_ready(fn: _Served, timeout: float = 30.0) -> None:
    """Wait until the function answers its health probe (any answer: it is serving), or fail loudly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn.process.poll() is not None:
            raise RuntimeError(f"function {fn.name} exited with code {fn.process.returncode}")
        try:
            requests.get(fn.url + "/healthz", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise TimeoutError(f"function {fn.name} did not answer within {timeout:.0f}s")


def invoke_until_drained(url: str, stop: threading.Event | None = None) -> int:
    """POST to a queue function until it reports nothing more waiting; returns how many calls it made."""
    calls = 0
    while stop is None or not stop.is_set():
        try:
            answer = requests.post(url, headers=_auth_headers(), timeout=120)
        except requests.ConnectionError:
            time.sleep(0.5)
            continue
        calls += 1
        if answer.status_code >= 500:
            time.sleep(1.0)  # the database may be restarting; back off, the messages are safe in the queue
            continue
        if not (answer.ok and answer.json().get("more")):
            break
    return calls


# The queue tables notify this channel once per inserting statement (migration 20261129000100_queue_wakeups).
WAKE_CHANNEL = "analytics_wake_{queue}"


def _drain_in_parallel(url: str, stop: threading.Event, workers: int) -> None:
    """Like production with several instances: `workers` concurrent drain loops on one queue. pgmq's
    SKIP LOCKED reads give each its own messages; one worker's database time overlaps another's Python."""
    if workers == 1:
        invoke_until_drained(url, stop)
        return
    threads = [threading.Thread(target=invoke_until_drained, args=(url, stop), daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _swallow(conn: psycopg.Connection[Any]) -> None:
    """Consume the notifications already waiting: the drain about to run serves them all."""
    for _ in conn.notifies(timeout=0.001):
        pass


def _dispatch(
    database_url: str, queue: str, url: str, stop: threading.Event, poll_seconds: float, workers: int
) -> None:
    channel = WAKE_CHANNEL.format(queue=queue)
    while not stop.is_set():
        try:
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel)))
                _drain_in_parallel(url, stop, workers)
                while not stop.is_set():
                    # Wait for the next insert (or the slow poll, which also covers a notification lost in a
                    # reconnect) and drain at once: one drain serves every message queued so far. A message that
                    # lands while the drain runs leaves its notification waiting, so the next wait returns at once.
                    if any(True for _ in conn.notifies(timeout=poll_seconds, stop_after=1)):
                        _swallow(conn)
                    _drain_in_parallel(url, stop, workers)
        except psycopg.Error:
            time.sleep(1.0)  # the database went away; reconnect and carry on


def _invoke_once(name: str, url: str) -> None:
    """One scheduled call, as pg_cron's would be; a failure is logged, the next tick tries again."""
    try:
        answer = requests.post(url, headers=_auth_headers(), timeout=600)
        if not answer.ok:
            print(f"cron {name}: {answer.status_code} {answer.text[:200]}", file=sys.stderr)
    except requests.RequestException as exc:
        print(f"cron {name}: {exc}", file=sys.stderr)


def due(crons: dict[str, tuple[str, str]], minute: datetime) -> list[str]:
    """The cron entries that fire in this minute (UTC)."""
    return [name for name, (schedule, _) in crons.items() if schedules.matches(schedule, minute)]


def _schedule(crons: dict[str, tuple[str, str]], stop: threading.Event) -> None:
    """Fire each cron function at the start of every minute its schedule names, like pg_cron."""
    while not stop.is_set():
        now = datetime.now(UTC)
        minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if stop.wait((minute - now).total_seconds()):
            return
        for name in due(crons, minute):
            threading.Thread(target=_invoke_once, args=(name, crons[name][1]), daemon=True).start()


# Restart backoff of a supervised function: doubles while it keeps dying, back to the first step once it has
# stayed up for STABLE_SECONDS.
RESTART_BACKOFF = (0.5, 30.0)
STABLE_SECONDS = 30.0


def _supervise(pipeline: Pipeline, fns: list[RunningFunction], poll_seconds: float = 0.2) -> None:
    """Restart any function process that exits (a crash, an OOM kill), on the same port, with backoff; each
    restart is printed. Each function is its own process group, so the others (ingest too) keep serving."""
    first, ceiling = RESTART_BACKOFF
    delay = {id(fn): first for fn in fns}
    started_at = {id(fn): time.monotonic() for fn in fns}
    while not pipeline._stop.wait(poll_seconds):
        for fn in fns:
            code = fn.process.poll()
            if code is None:
                if time.monotonic() - started_at[id(fn)] > STABLE_SECONDS:
                    delay[id(fn)] = first
                continue
            wait = delay[id(fn)]
            print(f"{fn.name} exited with code {code}; restarting in {wait:g}s", file=sys.stderr, flush=True)
            if pipeline._stop.wait(wait):
                return
            with pipeline._lock:
                if pipeline._stop.is_set():
                    return
                fresh = start_function(fn.name, fn.spec, pipeline.database_url, fn.port, fn.extra_env)
                fn.process = fresh.process  # in place: every name sharing this process sees the new one
            fn.restarts += 1
            started_at[id(fn)] = time.monotonic()
            delay[id(fn)] = min(wait * 2, ceiling)
            print(f"restarted {fn.name} (pid {fn.process.pid}, restart {fn.restarts})", file=sys.stderr, flush=True)


def start(
    database_url: str,
    *,
    spec: deployment.DeployFile | None = None,
    ports: dict[str, int] | None = None,
    poll_seconds: float = 5.0,
    extra_env: dict[str, str] | None = None,
    supervise: bool = False,
) -> Pipeline:
    """Start every function of deploy.yaml, the dispatchers that wake the queue ones and the scheduler that
    calls the cron ones. Entries with the same code (source and entry point) share one process.

    With `supervise` (what `up` does) a function process that exits is restarted on its port with backoff;
    without it, the caller owns restarts (the fault drill kills and restarts functions itself)."""
    spec = spec or deployment.load()
    pipeline = Pipeline(database_url, spec)
    started: dict[tuple[str, str], RunningFunction] = {}
    for name, function in spec.functions.items():
        key = (function.source, function.entry_point)
        if key not in started:
            port = (ports or {}).get(name) or free_port()
            started[key] = start_function(name, function, database_url, port, extra_env)
        pipeline.functions[name] = started[key]
    try:
        for fn in started.values():
            wait_ready(fn)
    except Exception:
        pipeline.stop()
        raise
    crons: dict[str, tuple[str, str]] = {}
    for name, function in spec.functions.items():
        url = pipeline.functions[name].url
        if isinstance(function.trigger, deployment.QueueTrigger):
            workers = min(function.runtime.max_instances, tools_settings.get().local_queue_workers)
            args = (
                database_url,
                function.trigger.queue,
                url + function.trigger.path,
                pipeline._stop,
                poll_seconds,
                workers,
            )
            pipeline._threads.append(
                threading.Thread(target=_dispatch, name=f"dispatch-{name}", daemon=True, args=args)
            )
        elif isinstance(function.trigger, deployment.CronTrigger):
            crons[name] = (function.trigger.schedule, url + function.trigger.path)
    if crons:
        pipeline._threads.append(
            threading.Thread(target=_schedule, name="cron", daemon=True, args=(crons, pipeline._stop))
        )
    if supervise:
        pipeline._threads.append(
            threading.Thread(target=_supervise, name="supervisor", daemon=True, args=(pipeline, list(started.values())))
        )
    for thread in pipeline._threads:
        thread.start()
    return pipeline
