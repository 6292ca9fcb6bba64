"""The project's own standards, checked on every run: ruff's lint rules, ruff's format and strict mypy on the code,
the tests and the benchmarks."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from shared.tools import runner


def test_the_code_passes_ruff() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=runner.ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_formatted_by_ruff() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "shared", "functions", "tests", "bench"],
        cwd=runner.ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, "run: ruff format shared functions tests bench\n" + result.stdout + result.stderr


def test_shared_the_functions_the_tests_and_the_benchmarks_pass_strict_mypy() -> None:
    mypy = tomllib.loads((runner.ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["strict"] is True
    assert {"shared", "functions/*/main.py", "tests", "bench"} <= set(mypy["files"])
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=runner.ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_configuration_reference_lists_every_setting_as_the_code_defines_it() -> None:
    from shared.tools import configdoc

    committed = (runner.ROOT / "docs" / "configuration.md").read_text()
    assert committed == configdoc.render(), "stale: python -m shared.tools.configdoc > docs/configuration.md"
