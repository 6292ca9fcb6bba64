"""Building the TypeScript client from a test, as CI builds it: `npm ci`, `npm run build` (the generated
types checked against the schema first, then tsc), `npm test` (its node:test suite)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "clients/typescript"


def run(*args: str, env: dict[str, str] | None = None) -> str:
    """`npm <args>` in the package; its output, or an assertion error with the end of both streams."""
    done = subprocess.run(
        ["npm", *args], cwd=PACKAGE, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=400
    )
    assert done.returncode == 0, f"npm {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def build() -> Path:
    """Install the pinned dev dependencies, build and run the package's own tests; the package folder."""
    assert shutil.which("npm"), "Node 20+ and npm are needed for the TypeScript client's tests"
    run("ci", "--no-audit", "--no-fund")
    run("run", "build")
    run("test")
    return PACKAGE
