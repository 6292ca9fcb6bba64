"""Deploy order either way: the previous release's code still works on the current schema.

Migrations reach a project before (or without) the functions that came with them, and a rollback puts old code
back on the new schema, so a migration may add and alter but must keep what the deployed code calls working
(versioned SQL functions get a new name when their behaviour changes). This test extracts the release recorded in
supabase/previous_release from git and runs its own ingest, validate and aggregate, in a separate process, on a
database migrated with today's migrations; then checks, with today's code, that its events were stored once and
rolled up exactly.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shared.tools import runner

pytestmark = pytest.mark.e2e

RELEASE_FILE = runner.ROOT / "supabase" / "previous_release"
DRIVER = Path(__file__).resolve().parents[1] / "previous_release_pipeline.py"
# What the driver imports from the release: its platform code, its functions and its sample events.
_EXTRACT = ("shared", "functions", "tests/__init__.py", "tests/factories.py")


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=runner.ROOT, capture_output=True, check=False)


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recorded release's code, extracted from git into a folder of its own."""
    (commit,) = [line.strip() for line in RELEASE_FILE.read_text().splitlines() if line.strip()[:1] not in ("", "#")]
    if _git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        pytest.fail(
            f"this test needs commit {commit} (supabase/previous_release) in the git history of {runner.ROOT}: "
            "run it in a full clone (git fetch --unshallow; in CI, check out with full history)",
            pytrace=False,
        )
    archive = _git("archive", "--format=tar", commit, *_EXTRACT)
    assert archive.returncode == 0, archive.stderr.decode()
    tree = tmp_path_factory.mktemp("previous-release")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def test_the_previous_release_ingests_validates_and_aggregates_on_the_current_schema(
    previous_release: Path, database_url: str, conn: psycopg.Connection[Any]
) -> None:
    # -P: the driver's own folder (this checkout's tests/) must not shadow the release's `tests` package.
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(previous_release)}
    run = subprocess.run(
        [sys.executable, "-P", str(DRIVER), str(previous_release)],
        cwd=previous_release,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"the previous release failed on the current schema:\n{run.stderr}"
    result = json.loads(run.stdout.splitlines()[-1])
    org, sent = result["organization_id"], result["sent"]
    assert result["ingest"]["status"] == 202, result["ingest"]
    assert result["ingest"]["body"]["accepted"] == len(sent), result["ingest"]
    # A release whose SQL no longer fits dead-letters the batch rather than failing the call: say so first.
    for stage in ("validate", "aggregate"):
        assert result[stage].get("dead_messages", 0) == 0, f"{stage} dead-lettered messages: {result[stage]}"

    stored = conn.execute(
        "select event_id, event_type from analytics_events where organization_id = %s", (org,)
    ).fetchall()
    assert sorted(event_id for event_id, _ in stored) == sorted(sent)
    assert {event_type for _, event_type in stored} == set(result["types"])
    assert conn.execute(
        "select (select count(*) from pgmq.q_ingest) + (select count(*) from pgmq.q_aggregate)"
    ).fetchone() == (0,)

    # Rolled up, in both tiers, exactly as a recomputation from the stored events says.
    tiers = conn.execute(
        "select (select count(*) from analytics_rollups where organization_id = %(org)s),"
        " (select count(*) from analytics_rollups_daily where organization_id = %(org)s)",
        {"org": org},
    ).fetchone()
    assert tiers is not None and min(tiers) > 0, tiers
    window = conn.execute(
        "select min(occurred_at) - interval '1 day', max(occurred_at) + interval '1 day' from analytics_events"
        " where organization_id = %s",
        (org,),
    ).fetchone()
    assert window is not None
    mismatches = conn.execute("select * from analytics_reconcile_v1(%s, %s, %s)", (org, *window)).fetchall()
    assert mismatches == []
