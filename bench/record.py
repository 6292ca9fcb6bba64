"""A benchmark's figures as a JSON document: what ran (script, arguments), what it measured (figures, and the
baseline measured in the same run), and where and on what (git commit, UTC date, machine), so that every figure
in BENCHMARKS.md can be traced to the run that produced it.

Each script in bench/ calls `start()` first and `write(...)` once its figures are printed; the document goes to
`bench/results/<script>-<UTC time>.json`, or to the path given with `--json PATH`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
KEYS = ("script", "arguments", "argv", "figures", "baseline", "commit", "dirty", "started", "date", "machine")
_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


@dataclass(frozen=True)
class Start:
    """When a run began and how busy the machine was then (the 1, 5 and 15 minute load averages)."""

    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    load_average: tuple[float, ...] = field(default_factory=lambda: _load_average())


def start() -> Start:
    """Note the start of a run, before the script puts any load on the machine."""
    return Start()


def add_argument(parser: argparse.ArgumentParser) -> None:
    """The `--json PATH` option every bench script takes."""
    parser.add_argument(
        "--json",
        metavar="PATH",
        help="write the figures, commit, date and machine as JSON there (default: bench/results/<script>-<UTC "
        "time>.json)",
    )


def default_path(script: str, at: datetime) -> Path:
    return RESULTS / f"{script}-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}.json"


def git_state(root: Path = ROOT) -> tuple[str | None, bool | None]:
    """The commit checked out and whether tracked files differ from it (untracked files, such as earlier
    results, do not count); (None, None) outside a git checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return commit, bool(changes.strip())


def server_version(database_url: str | None) -> str | None:
    """The PostgreSQL server's version, or None when there is no URL or the server does not answer."""
    if not database_url:
        return None
    try:
        with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("show server_version").fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row else None


def machine(database_url: str | None = None) -> dict[str, Any]:
    """CPU model, cores, memory, OS, Python and PostgreSQL versions."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "postgresql": server_version(database_url),
    }


def document(
    script: str,
    arguments: Mapping[str, Any],
    figures: Mapping[str, Any],
    *,
    baseline: Mapping[str, Any] | None = None,
    database_url: str | None = None,
    started: Start | None = None,
    argv: Sequence[str] = (),
) -> dict[str, Any]:
    """The JSON document of one run (keys: `KEYS`). Passwords in URLs among the arguments are masked."""
    commit, dirty = git_state()
    now = datetime.now(UTC)
    begun = started or Start(at=now)
    return {
        "script": script,
        "arguments": {key: _masked(value) for key, value in arguments.items()},
        "argv": [_masked(arg) for arg in argv],
        "figures": dict(figures),
        "baseline": dict(baseline) if baseline is not None else None,
        "commit": commit,
        "dirty": dirty,
        "started": begun.at.isoformat(timespec="seconds"),
        "date": now.isoformat(timespec="seconds"),
        "machine": {
            **machine(database_url),
            "load_average": {"at_start": list(begun.load_average), "at_end": list(_load_average())},
        },
    }


def write(
    script: str,
    args: argparse.Namespace,
    figures: Mapping[str, Any],
    *,
    baseline: Mapping[str, Any] | None = None,
    database_url: str | None = None,
    started: Start | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the run's document to `path` (default: bench/results/<script>-<UTC time>.json) and say where on
    stderr, so the script's printed figures stay as they were."""
    doc = document(
        script,
        vars(args),
        figures,
        baseline=baseline,
        database_url=database_url,
        started=started,
        argv=sys.argv[1:],
    )
    target = Path(path) if path else default_path(script, datetime.fromisoformat(doc["date"]))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"- figures written to {target}", file=sys.stderr)
    return target


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return _PASSWORD.sub(r"\1:***@", value)
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (AttributeError, ValueError, OSError):
        return None


def _load_average() -> tuple[float, ...]:
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        return ()
