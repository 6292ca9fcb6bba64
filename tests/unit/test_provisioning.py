"""The deploy plan's secrets.sh: every secret deploy.yaml names is created once and granted to the functions'
service account, run against a recording `gcloud` that keeps its secrets in a folder."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.tools import cli, deployment

MEMBER = "serviceAccount:424242-compute@developer.gserviceaccount.com"
# Keys the pipeline only needs to be random and stable: the script makes them, nobody types them.
RANDOM_VARIABLES = {
    "PII_HASH_KEY",
    "WEBHOOK_SECRETS_KEY",
    "ALERT_WEBHOOK_SECRET",
    "SHARE_LINK_KEY",
    "REPORTS_WEBHOOK_KEY",
    "INVOKE_SECRET",
}

FAKE_GCLOUD = """#!/bin/sh
# A stand-in for gcloud: one line per call in $STATE/calls; a secret is the file $STATE/secrets/<name>.
echo "$*" >> "$STATE/calls"
case "$1 $2" in
  "config get-value") echo wedsync-prod ;;
  "projects describe") echo 424242 ;;
  "secrets describe") test -f "$STATE/secrets/$3"; exit $? ;;
  "secrets create") test ! -f "$STATE/secrets/$3" || exit 9; cat > "$STATE/secrets/$3" ;;
  "secrets add-iam-policy-binding") test -f "$STATE/secrets/$3" || exit 8 ;;
  *) echo "unexpected gcloud call: $*" >&2; exit 7 ;;
esac
"""


def _named_in_deploy_yaml() -> dict[str, set[str]]:
    """{secret name: the variables it fills}, read from deploy.yaml itself rather than through the code."""
    document: dict[str, Any] = yaml.safe_load(deployment.DEPLOY_FILE.read_text())
    named: dict[str, set[str]] = {}
    for fn in document["functions"].values():
        for var, source in (fn.get("env") or {}).items():
            if "secret" in source:
                named.setdefault(source["secret"].split(":")[0], set()).add(var)
    return named


def _value_variable(secret: str) -> str:
    return "SECRET_" + secret.upper().replace("-", "_")


@dataclass
class Run:
    result: subprocess.CompletedProcess[str]
    calls: list[list[str]]
    stored: dict[str, str]

    def created(self) -> set[str]:
        return {c[2] for c in self.calls if c[:2] == ["secrets", "create"]}

    def granted(self) -> dict[str, set[str]]:
        """{secret: {member}} of every secretAccessor grant."""
        grants: dict[str, set[str]] = {}
        for call in self.calls:
            if call[:2] == ["secrets", "add-iam-policy-binding"]:
                flags = dict(a.removeprefix("--").split("=", 1) for a in call[3:])
                assert flags["role"] == "roles/secretmanager.secretAccessor" and flags["project"] == "wedsync-prod"
                grants.setdefault(call[2], set()).add(flags["member"])
        return grants


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    """`wedsync-analytics deploy plan --out <dir>`, as an operator runs it; returns the plan directory."""
    out = tmp_path / "dist"
    assert cli.main(["deploy", "plan", "--function", "ingest", "--out", str(out)]) == 0
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gcloud").write_text(FAKE_GCLOUD)
    (tmp_path / "bin" / "gcloud").chmod(0o755)
    (tmp_path / "state" / "secrets").mkdir(parents=True)
    return out


def _run(plan: Path, values: dict[str, str]) -> Run:
    state = plan.parent / "state"
    (state / "calls").write_text("")
    env = {"PATH": f"{plan.parent / 'bin'}{os.pathsep}{os.defpath}", "STATE": str(state), **values}
    result = subprocess.run(["bash", str(plan / "secrets.sh")], env=env, capture_output=True, text=True, cwd=plan)
    calls = [line.split() for line in (state / "calls").read_text().splitlines()]
    stored = {p.name: p.read_text() for p in (state / "secrets").iterdir()}
    return Run(result, calls, stored)


def _operator_values() -> dict[str, str]:
    return {_value_variable(name): f"value of {name}" for name in _named_in_deploy_yaml()}


def test_every_secret_deploy_yaml_names_is_created_and_granted_to_the_functions_service_account(plan: Path) -> None:
    named = _named_in_deploy_yaml()
    assert {"wedsync-webhook-secrets-key", "wedsync-alert-webhook-secret", "wedsync-supabase-jwt-secret"} <= set(named)
    run = _run(plan, _operator_values())
    assert run.result.returncode == 0, run.result.stderr
    assert run.created() == set(named)
    assert run.granted() == {name: {MEMBER} for name in named}
    for name, variables in named.items():
        if variables <= RANDOM_VARIABLES:
            assert re.fullmatch(r"[0-9a-f]{64}", run.stored[name]), name  # generated: 256 random bits
        else:
            assert run.stored[name] == f"value of {name}"  # exactly what the operator gave, no newline


def test_running_it_again_keeps_every_value_so_the_pii_key_never_changes(plan: Path) -> None:
    first = _run(plan, _operator_values())
    again = _run(plan, {k: "a different value" for k in _operator_values()})
    assert again.result.returncode == 0, again.result.stderr
    assert again.created() == set() and again.stored == first.stored
    assert set(again.granted()) == set(_named_in_deploy_yaml())
    assert "kept     wedsync-pii-hash-key" in again.result.stdout


def test_a_missing_operator_value_stops_it_before_anything_is_created(plan: Path) -> None:
    values = _operator_values()
    del values["SECRET_WEDSYNC_SUPABASE_JWKS_URL"], values["SECRET_WEDSYNC_DATABASE_URL"]
    run = _run(plan, values)
    assert run.result.returncode == 1
    assert run.created() == set() and run.granted() == {}
    assert "SECRET_WEDSYNC_SUPABASE_JWKS_URL  (secret wedsync-supabase-jwks-url: SUPABASE_JWKS_URL of dashboard)" in (
        run.result.stderr
    )
    assert "SECRET_WEDSYNC_DATABASE_URL" in run.result.stderr and "nothing was changed" in run.result.stderr
    assert "SECRET_WEDSYNC_PII_HASH_KEY" not in run.result.stderr  # generated, never asked for


def test_the_dashboard_gets_the_report_storage_and_the_jwks_url() -> None:
    """GET /v1/reports/<id>?format=pdf reads what the report worker stored, so it needs the same storage."""
    functions = deployment.load().functions
    report, dashboard = functions["report-worker"].env, functions["dashboard"].env
    storage = {var for var in report if var.startswith("REPORTS_S3_")}
    assert {"REPORTS_S3_BUCKET", "REPORTS_S3_ENDPOINT_URL", "REPORTS_S3_REGION"} <= storage
    assert {var: dashboard.get(var) for var in storage} == {var: report[var] for var in storage}
    assert dashboard["SUPABASE_JWKS_URL"].secret is not None
