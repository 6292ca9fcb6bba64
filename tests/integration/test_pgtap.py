"""The pgTAP files of supabase/tests/database, run as `supabase test db` runs them (each file in one transaction,
TAP on standard output), against a fresh migrated database."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shared.tools import runner

FILES = sorted((runner.ROOT / "supabase" / "tests" / "database").glob("*.test.sql"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_pgtap_file_passes(path: Path, database_url: str, conn: psycopg.Connection[Any]) -> None:
    if conn.execute("select 1 from pg_available_extensions where name = 'pgtap'").fetchone() is None:
        pytest.skip("pgTAP is not installed on this server (apt-get install postgresql-15-pgtap; .ci/run does)")
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not on PATH")
    conn.execute("create extension if not exists pgtap")
    done = subprocess.run(
        [psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", database_url, "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    plan = next(line for line in lines if line.startswith("1.."))
    planned = int(plan.removeprefix("1.."))
    passed = [line for line in lines if line.startswith("ok ")]
    failed = [line for line in lines if line.startswith("not ok")]
    assert failed == [] and len(passed) == planned, done.stdout
