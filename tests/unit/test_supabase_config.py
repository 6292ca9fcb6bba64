"""supabase/config.toml agrees with the project: `supabase db push` and `wedsync-analytics migrate` apply the
same files, to the same major version of PostgreSQL, and the report bucket exists private."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from shared.core import migrations
from shared.tools import bundles, deployment

CONFIG = deployment.ROOT / "supabase" / "config.toml"
# The Supabase CLI's own pattern for migration files (pkg/migration/file.go).
CLI_MIGRATION = re.compile(r"^([0-9]+)_(.*)\.sql$")


def _config() -> dict[str, Any]:
    with CONFIG.open("rb") as f:
        return tomllib.load(f)


def test_the_cli_and_the_runner_read_the_same_migrations() -> None:
    # The CLI always reads <config.toml's folder>/migrations; the runner, deploy check and the bundles this:
    assert CONFIG.parent / "migrations" == migrations.MIGRATIONS_DIR == deployment.ROOT / deployment.MIGRATIONS
    assert _config()["db"]["migrations"]["enabled"] is True
    files = sorted(p.name for p in migrations.MIGRATIONS_DIR.glob("*.sql"))
    assert files == [f"{m.version}_{m.name}.sql" for m in migrations.discover()]
    for name in files:
        match = CLI_MIGRATION.match(name)
        assert match is not None and len(match[1]) == 14, name  # both order by the 14-digit timestamp


def test_the_project_is_named_and_pinned_to_postgresql_15() -> None:
    config = _config()
    assert config["project_id"] == bundles.PROJECT
    assert config["db"]["major_version"] == 15


def test_the_report_bucket_the_functions_use_is_declared_private() -> None:
    functions = deployment.load().functions
    bucket = functions["report-worker"].env["REPORTS_S3_BUCKET"].value
    assert bucket is not None and functions["dashboard"].env["REPORTS_S3_BUCKET"].value == bucket
    assert _config()["storage"]["buckets"][bucket] == {"public": False}
    assert _config()["storage"]["s3_protocol"]["enabled"] is True  # the functions reach it through the S3 API
