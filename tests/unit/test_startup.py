"""A deployed function refuses to start with a public development key; locally the defaults keep working."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from functions_framework import create_app

from shared.core import settings, startup
from shared.tools import bundles, configdoc, deployment, runner

ROOT = runner.ROOT

SPEC = deployment.load()
# The four settings whose default is public, spelled out here so the test does not trust the code's own list.
PUBLIC_DEFAULTS = {
    "PII_HASH_KEY",
    "WEBHOOK_SECRETS_KEY",
    "ALERT_WEBHOOK_SECRET",
    "REPORTS_WEBHOOK_KEY",
    "SHARE_LINK_KEY",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A clean environment: no host marker, every key at its default; the settings cache follows changes."""
    for name in [*PUBLIC_DEFAULTS, "K_SERVICE", "WEDSYNC_ENV"]:
        monkeypatch.delenv(name, raising=False)
    settings.clear_cache()
    yield monkeypatch
    settings.clear_cache()


def _set(env: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        env.setenv(name, value)
    settings.clear_cache()


def test_the_settings_with_a_public_default_are_exactly_the_development_keys() -> None:
    assert configdoc.development_defaults() == PUBLIC_DEFAULTS


@pytest.mark.parametrize("host", [{"K_SERVICE": "ingest"}, {"WEDSYNC_ENV": "production"}])
def test_a_deployed_function_with_a_development_key_fails_naming_the_setting(
    env: pytest.MonkeyPatch, host: dict[str, str]
) -> None:
    _set(env, **host, WEBHOOK_SECRETS_KEY="a-real-key")
    with pytest.raises(startup.UnsafeSettings) as refused:
        startup.refuse_unsafe_settings("PII_HASH_KEY", "WEBHOOK_SECRETS_KEY")
    message = str(refused.value)
    assert "PII_HASH_KEY" in message and "WEBHOOK_SECRETS_KEY" not in message
    assert "splitting every client's history" in message


def test_a_deployed_function_with_real_keys_starts(env: pytest.MonkeyPatch) -> None:
    _set(env, K_SERVICE="ingest", PII_HASH_KEY="k1", WEBHOOK_SECRETS_KEY="k2")
    conf = startup.refuse_unsafe_settings("PII_HASH_KEY", "WEBHOOK_SECRETS_KEY")
    assert conf.pii_hash_key.get_secret_value() == "k1"


def test_locally_the_development_defaults_keep_working(env: pytest.MonkeyPatch) -> None:
    assert not startup.deployed()
    startup.refuse_unsafe_settings(*PUBLIC_DEFAULTS)


def test_naming_a_setting_without_a_public_default_is_a_programming_error(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL have no development default"):
        startup.refuse_unsafe_settings("DATABASE_URL")


def _boot(name: str) -> None:
    fn = SPEC.functions[name]
    create_app(target=fn.entry_point, source=str(runner.ROOT / fn.source))


@pytest.mark.parametrize("name", sorted(SPEC.functions))
def test_every_function_boots_deployed_with_its_deploy_yaml_env_and_no_development_key(
    name: str, env: pytest.MonkeyPatch
) -> None:
    """With what deploy.yaml gives it (secrets resolved to real values) each function starts; without one of
    the public-default keys it is given, it refuses at import, naming that key."""
    secrets, literals = bundles.runtime_env(SPEC.functions[name])
    given = sorted(set(secrets) & PUBLIC_DEFAULTS)
    _set(env, K_SERVICE=name, **literals, **{var: f"real-{var.lower()}" for var in given})
    _boot(name)
    for var in given:
        env.delenv(var)
        settings.clear_cache()
        with pytest.raises(startup.UnsafeSettings, match=var):
            _boot(name)
        env.setenv(var, f"real-{var.lower()}")
    settings.clear_cache()


def test_the_functions_that_use_a_key_refuse_to_start_without_it(env: pytest.MonkeyPatch) -> None:
    _set(env, K_SERVICE="ingest")
    with pytest.raises(startup.UnsafeSettings, match="PII_HASH_KEY, WEBHOOK_SECRETS_KEY"):
        _boot("ingest")
    for name, key in (
        ("validate", "PII_HASH_KEY"),
        ("monitor", "ALERT_WEBHOOK_SECRET"),
        ("report", "REPORTS_WEBHOOK_KEY"),
        ("dashboard", "SHARE_LINK_KEY"),
    ):
        with pytest.raises(startup.UnsafeSettings, match=key):
            _boot(name)


def test_functions_framework_exits_at_boot_instead_of_serving(env: pytest.MonkeyPatch) -> None:
    """The real server process (as on Cloud Run) stops before it listens, with the reason in its log."""
    fn = SPEC.functions["validate"]
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "functions_framework",
            "--target",
            fn.entry_point,
            "--source",
            str(runner.ROOT / fn.source),
            "--port",
            str(runner.free_port()),
        ],
        env={"K_SERVICE": "validate", "PATH": "/usr/bin:/bin"},
        cwd=runner.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode != 0
    assert "UnsafeSettings" in process.stderr and "PII_HASH_KEY" in process.stderr


def _boot_fresh(function: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import a function's entry module in a fresh interpreter, as its host does at start."""
    code = f"import runpy; runpy.run_path({str(ROOT / 'functions' / function / 'main.py')!r})"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PATH": os.defpath, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_malformed_setting_of_another_stage_does_not_stop_a_function() -> None:
    env = {"REPORTS_DELIVERY_TRIES": "lots", "QUALITY_HISTORY_DAYS": "a month"}
    ingest = _boot_fresh("ingest", env)
    assert ingest.returncode == 0, ingest.stderr
    report = _boot_fresh("report", env)
    assert report.returncode != 0 and "reports_delivery_tries" in report.stderr.lower()
    monitor = _boot_fresh("monitor", env)
    assert monitor.returncode != 0 and "quality_history_days" in monitor.stderr.lower()
