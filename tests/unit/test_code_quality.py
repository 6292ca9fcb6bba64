"""The project's own standards, checked on every run: ruff's lint rules and strict mypy on the code."""

from __future__ import annotations

import subprocess
import sys

from shared.tools import runner


def test_the_code_passes_ruff() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=runner.ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shared_and_the_functions_pass_strict_mypy() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=runner.ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_configuration_reference_lists_every_setting_as_the_code_defines_it() -> None:
    from shared.tools import configdoc

    committed = (runner.ROOT / "docs" / "configuration.md").read_text()
    assert committed == configdoc.render(), "stale: python -m shared.tools.configdoc > docs/configuration.md"
