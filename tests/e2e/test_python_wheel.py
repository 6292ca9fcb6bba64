"""The Python client as its own wheel (clients/python): only `wedsync_client` inside, nothing required beyond
the standard library, and importable in an interpreter that loads none of the pipeline's server packages."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from shared.tools import runner

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SERVER_MODULES = (
    "shared",
    "pydantic",
    "psycopg",
    "flask",
    "functions_framework",
    "boto3",
    "matplotlib",
    "requests",
)


def test_the_client_wheel_holds_the_client_alone_and_imports_without_the_server_dependencies(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "clients/python"],
        cwd=runner.ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("wedsync_client-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = Parser().parsestr(archive.read(next(n for n in names if n.endswith("/METADATA"))).decode())
    assert {n.split("/")[0] for n in names} == {"wedsync_client", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "wedsync_client/py.typed" in names
    assert metadata.get_all("Requires-Dist") is None
    print(f"wheel: {wheel.name} {wheel.stat().st_size} bytes")
    # An isolated interpreter that sees the wheel and the standard library, nothing of the checkout.
    probe = (
        "import sys, wedsync_client; "
        f"loaded = sorted(m for m in {SERVER_MODULES!r} if m in sys.modules); "
        "print(wedsync_client.__file__, loaded)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:0] = [{str(wheel)!r}]; {probe}"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    where, loaded = done.stdout.split(" ", 1)
    assert where.startswith(str(wheel)) and loaded.strip() == "[]"
