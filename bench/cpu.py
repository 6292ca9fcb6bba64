"""CPU seconds used by the parts of a benchmark run: this process, each function's process group and the
PostgreSQL server, read from /proc (Linux), so a run can say what one event costs the machine in each part."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import psycopg

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(stat: Path) -> list[str]:
    # The fields after the process name: state, ppid, pgrp, ..., utime (11), stime (12), cutime (13), cstime (14).
    return stat.read_text().rsplit(")", 1)[1].split()


def group_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (a function's gunicorn arbiter and workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = _stat_fields(stat)
        except OSError:  # the process ended while we looked
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


def this_process_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_pid(database_url: str) -> int | None:
    """The postmaster's pid of the server at `database_url`, when it runs on this machine and we may read its
    data directory's postmaster.pid (else None: the server's CPU is then not measured)."""
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            row = conn.execute("select current_setting('data_directory')").fetchone()
        return int((Path(row[0]) / "postmaster.pid").read_text().split()[0]) if row else None
    except (OSError, psycopg.Error, ValueError, IndexError):
        return None


def server_seconds(postmaster: int) -> float:
    """CPU of the PostgreSQL server: the postmaster, its live children (backends, checkpointer, WAL writer,
    autovacuum) and, through the postmaster's cutime/cstime, every child that has already exited."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = _stat_fields(stat)
            pid = int(stat.parent.name)
        except (OSError, ValueError):
            continue
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])
        elif int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


def backend_seconds(database_url: str) -> dict[int, tuple[str, float]]:
    """CPU so far of each client backend of the server, by pid, with its application_name (the local runner names
    each function's connections `wedsync-<function>`); backends that end between two looks are not counted."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "select pid, coalesce(nullif(application_name, ''), 'unnamed') from pg_stat_activity "
            "where backend_type = 'client backend' and pid <> pg_backend_pid()"
        ).fetchall()
    found = {}
    for pid, name in rows:
        try:
            fields = _stat_fields(Path(f"/proc/{pid}/stat"))
        except OSError:  # another machine's server, or the backend just ended
            continue
        found[pid] = (str(name), (int(fields[11]) + int(fields[12])) / _TICK)
    return found


def backend_seconds_by_name(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU each application_name's backends used between two `backend_seconds` looks."""
    used: dict[str, float] = {}
    for pid, (name, seconds) in after.items():
        start = before[pid][1] if pid in before and before[pid][0] == name else 0.0
        used[name] = used.get(name, 0.0) + seconds - start
    return used


def snapshot(groups: dict[str, int], postmaster: int | None, *, this_process: str) -> dict[str, float]:
    """CPU seconds so far of this process (named `this_process`), of each function's process group and, when its
    postmaster is known, of the PostgreSQL server ("postgresql"): two snapshots give what a run cost each part."""
    found = {this_process: this_process_seconds()} | {n: group_seconds(g) for n, g in groups.items()}
    return found | ({"postgresql": server_seconds(postmaster)} if postmaster else {})
