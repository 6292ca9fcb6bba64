"""Every function of deploy.yaml answers GET /healthz, and the ones the database invokes refuse strangers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from functions_framework import create_app

from shared.core import settings
from shared.tools import configdoc, deployment, runner

SPEC = deployment.load()
INVOKED = sorted(n for n, f in SPEC.functions.items() if f.invoked_by_database)


def _client(name: str) -> Any:
    fn = SPEC.functions[name]
    return create_app(target=fn.entry_point, source=str(runner.ROOT / fn.source)).test_client()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    settings.clear_cache()


@pytest.mark.parametrize("name", sorted(SPEC.functions))
def test_every_function_answers_healthz(name: str, database_url: str) -> None:
    answer = _client(name).get("/healthz")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["ok"] is True


def _post(name: str, headers: dict[str, str] | None = None) -> int:
    path = getattr(SPEC.functions[name].trigger, "path", "/")
    return int(_client(name).post(path, headers=headers or {}, json={}).status_code)


@pytest.mark.parametrize("name", INVOKED)
def test_functions_the_database_invokes_refuse_calls_without_the_invoke_secret(
    name: str, env: pytest.MonkeyPatch
) -> None:
    env.setenv("INVOKE_SECRET", "the-secret")
    settings.clear_cache()
    assert _post(name) == 401
    assert _post(name, {"Authorization": "Bearer wrong"}) == 401
    assert _post(name, {"Authorization": "Basic the-secret"}) == 401
    assert _post(name, {"Authorization": "Bearer the-secret"}) == 200


@pytest.mark.parametrize("name", INVOKED)
def test_a_deployed_function_without_its_invoke_secret_refuses_everyone(name: str, env: pytest.MonkeyPatch) -> None:
    env.delenv("INVOKE_SECRET", raising=False)
    env.setenv("K_SERVICE", name)  # Cloud Run sets this
    for key in configdoc.development_defaults():  # else the function would not even start (tests/unit/test_startup.py)
        env.setenv(key, f"real-{key.lower()}")
    settings.clear_cache()
    assert _post(name) == 401
    assert _post(name, {"Authorization": "Bearer anything"}) == 401
    env.delenv("K_SERVICE")
    assert _post(name) == 200  # locally (no K_SERVICE) the pipeline runs without a secret
