"""Driving the web page in Debian's chromium with Playwright (from PyPI), for the browser tests and the
screenshot and benchmark scripts. Installs nothing: without /usr/bin/chromium or playwright the tests skip."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def missing() -> str | None:
    """Why a browser cannot run here, or None."""
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        return "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright PyPI package (test extras)"
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless chromium (Playwright's Browser), closed afterwards."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page with every script error and console error it reported."""

    page: Any
    errors: list[str] = field(default_factory=list)


def open_tab(browser: Any, viewport: dict[str, int] | None = None, **context: Any) -> Tab:
    page = browser.new_context(viewport=viewport or DESKTOP, accept_downloads=True, **context).new_page()
    tab = Tab(page)
    page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    page.on(
        "console", lambda msg: tab.errors.append(msg.text) if msg.type == "error" and not _retried(msg.text) else None
    )
    return tab


def _retried(text: str) -> bool:
    # Over the per-caller rate (quick changes of the controls) the page waits as told and asks again (api.js);
    # chromium still logs the 429.
    return "status of 429" in text


def wait_loaded(tab: Tab, timeout: float = 20_000) -> None:
    """Until every panel of the first refresh is drawn (or the page signed out)."""
    tab.page.wait_for_selector("body[data-loaded]", timeout=timeout)


def api(url: str, token: str, path: str, **params: str) -> bytes:
    """The raw answer of a dashboard API read, as the page would ask it."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    request = urllib.request.Request(f"{url}{path}{query}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        body: bytes = answer.read()
        return body


def api_json(url: str, token: str, path: str, **params: str) -> Any:
    return json.loads(api(url, token, path, **params))


def checker_key(organization_id: Any) -> str:
    """A second read key for the test's own API reads: each key has its own rate bucket, so checking the page's
    numbers never slows the page down."""
    from shared.core import apikeys, db

    with db.transaction() as conn:
        return apikeys.create(conn, organization_id, ["read"], name="checker").key


def cards(tab: Tab) -> dict[str, dict[str, str | None]]:
    """Each card's metric -> its raw value, previous and last-year figures (data attributes) and shown value."""
    found: dict[str, dict[str, str | None]] = tab.page.eval_on_selector_all(
        "#cards .card",
        """cards => Object.fromEntries(cards.map(c => [c.dataset.metric, {value: c.dataset.value ?? null,
            previous: c.dataset.previous ?? null, last_year: c.dataset.lastYear ?? null,
            shown: c.querySelector('.value').textContent}]))""",
    )
    return found


def refreshes(tab: Tab) -> int:
    return int(tab.page.evaluate("Number(document.body.dataset.refreshes || 0)"))


def after_refresh(tab: Tab, before: int, timeout: float = 20_000) -> None:
    """Until the page has finished a refresh after `before` refreshes, and none is running or queued."""
    tab.page.wait_for_function(
        "before => Number(document.body.dataset.refreshes || 0) > before && !document.body.dataset.busy",
        arg=before,
        timeout=timeout,
    )
