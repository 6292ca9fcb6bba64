"""Events a page queued arrive although the page closes before their batch was due: the TypeScript sender's
page-hide flush in Debian's chromium (Playwright), against the real ingest function.

The page and `/v1/events` share one origin (the test proxy serves both), as in the app, where a relay route
forwards to ingest. Installs nothing: it needs /usr/bin/chromium and the playwright PyPI package, and skips
with the reason when either is absent (as the page's tests in tests/e2e/webpage/ do).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import faultproxy, senders
from tests.e2e.webpage import browser as web_page

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
PAGE = """<!doctype html>
<meta charset="utf-8">
<title>queued events</title>
<script type="module">
  import { Sender, events, flushOnPageHide } from "./dist/index.js";
  const params = new URLSearchParams(location.search);
  const key = params.get("key") || undefined;
  // Nothing is due before the page closes: only the page-hide flush can deliver these.
  const sender = new Sender({ endpoint: "/v1/events", key, flushIntervalMs: 600000, keepalive: true });
  flushOnPageHide(sender);
  window.queueEvents = (prefix, n) => {
    for (let i = 0; i < n; i++) {
      sender.send(events.appAction({ user_id: "u-1", action: "opened" }, { event_id: `${prefix}-${i}` }));
    }
    return sender.queued;
  };
  document.body.dataset.ready = "true";
</script>
<body></body>
"""


def _stored(conn: psycopg.Connection[Any], org_id: Any, expected: int) -> dict[str, int]:
    deadline = time.monotonic() + 30
    while True:
        stored = senders.stored_counts(conn, org_id)
        if sum(stored.values()) >= expected or time.monotonic() > deadline:
            return stored
        time.sleep(0.2)


@pytest.mark.parametrize("way", ["beacon", "keepalive"])
def test_events_queued_before_the_page_closes_arrive_exactly_once(
    way: str,
    typescript_package: Path,
    database_url: str,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    tmp_path: Path,
) -> None:
    why_not = web_page.missing()
    if why_not:
        pytest.skip(why_not)
    from playwright import sync_api

    org = make_org()
    shutil.copytree(typescript_package / "dist", tmp_path / "dist")
    (tmp_path / "page.html").write_text(PAGE)
    # A beacon carries no headers: the proxy adds the key, as the app's relay route would. A keepalive fetch
    # sends the key itself.
    relay_key = org.ingest_key if way == "beacon" else None
    query = "" if way == "beacon" else f"?key={org.ingest_key}"
    with (
        senders.ingest(database_url) as ingest,
        faultproxy.FaultProxy(ingest.port, static=tmp_path, inject_key=relay_key) as proxy,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(web_page.CHROMIUM), headless=True, args=web_page.FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{proxy.url}/page.html{query}")
            page.wait_for_selector("body[data-ready='true']", state="attached", timeout=15_000)
            assert page.evaluate("queueEvents('page', 25)") == 25
            assert proxy.requests == 0  # nothing sent yet
            page.close(run_before_unload=True)
            stored = _stored(conn, org.id, 25)
        finally:
            browser.close()
    assert stored == {f"page-{i}": 1 for i in range(25)}
