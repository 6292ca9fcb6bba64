"""The web page in a real browser: Debian's chromium driven by Playwright, against a started dashboard function.

Installs nothing: it needs the `chromium` Debian package (/usr/bin/chromium) and the `playwright` PyPI package
(test extras), and skips with the reason when either is absent.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.tools import deployment, runner, signin

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def dashboard_url(database_url: str) -> Iterator[str]:
    spec = deployment.load().functions["dashboard"]
    fn = runner.start_function("dashboard", spec, database_url, runner.free_port())
    try:
        runner.wait_ready(fn)
        yield fn.url
    finally:
        fn.stop()


def _overview(url: str, key: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}/v1/metrics/overview", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.load(answer))


def test_signing_in_with_a_read_key_shows_the_apis_overview_numbers_on_the_cards(
    dashboard_url: str, make_org: Callable[..., Any]
) -> None:
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright PyPI package (test extras)")
    org = make_org()
    expected = next(m for m in _overview(dashboard_url, org.read_key)["metrics"] if m["metric"] == "inquiries")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto(signin.link(dashboard_url, org.read_key))
            page.wait_for_selector("body[data-loaded='true']", timeout=15_000)
            card = page.locator("[data-metric='inquiries'] .value")
            assert card.inner_text() == f"{expected['value']:,}"
            assert "key=" not in page.url  # dropped from the address bar once kept in the tab
            assert page.evaluate("document.documentElement.scrollWidth") <= 375  # one column, no sideways scroll
            assert page.get_by_text("No events yet").is_visible()
            assert not errors, errors  # nothing refused by the content security policy, no script errors
        finally:
            browser.close()
