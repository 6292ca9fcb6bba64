"""Browser tests of the web page: a started dashboard function (or the whole pipeline) and one chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.tools import deployment, runner
from tests.e2e.webpage import browser
from tests.integration.dashboard.support import SECRET

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    reason = browser.missing()
    if reason:
        pytest.skip(reason)
    with browser.chromium() as started:
        yield started


@pytest.fixture
def dashboard_url(database_url: str) -> Iterator[str]:
    """The dashboard function as deployed, verifying user tokens with the test secret."""
    spec = deployment.load().functions["dashboard"]
    env = {"SUPABASE_JWT_SECRET": SECRET}
    fn = runner.start_function("dashboard", spec, database_url, runner.free_port(), env)
    try:
        runner.wait_ready(fn)
        yield fn.url
    finally:
        fn.stop()
