"""Live numbers and exports in the browser: an event POSTed to the real ingest function, validated and
aggregated by the running pipeline, shows in the open page's cards within a second of the API counting it, with
no reload; a panel's CSV download is byte for byte the API's CSV."""

from __future__ import annotations

import json
import time
import urllib.error
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from shared.tools import runner, signin
from tests import factories
from tests.e2e.webpage import browser
from tests.integration.dashboard.support import SECRET, drain, post

SHOWN = "n => document.querySelector(\"[data-metric='inquiries']\").dataset.value === String(n)"


def _counted(url: str, key: str, inquiries: int, seconds: float = 60) -> bool:
    """Until the API's overview counts `inquiries` (the pipeline's work, not the page's)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = browser.api_json(url, key, "/v1/metrics/overview")["metrics"]
        except urllib.error.HTTPError as exc:  # over this key's rate: ask again shortly
            if exc.code != 429:
                raise
        else:
            if next(m["value"] for m in found if m["metric"] == "inquiries") == inquiries:
                return True
        time.sleep(0.15)
    return False


def test_a_posted_event_shows_in_the_open_pages_numbers_within_a_second_without_reload(
    chromium: Any, database_url: str, make_org: Callable[..., Any]
) -> None:
    org = make_org(name="Live Studio")
    key = browser.checker_key(org.id)
    pipeline = runner.start(database_url, poll_seconds=1.0, extra_env={"SUPABASE_JWT_SECRET": SECRET})
    try:
        url = pipeline.url("dashboard")
        tab = browser.open_tab(chromium, browser.PHONE)
        navigations: list[str] = []
        tab.page.on("framenavigated", lambda frame: navigations.append(frame.url))
        tab.page.goto(signin.link(url, org.read_key))
        browser.wait_loaded(tab)
        tab.page.wait_for_selector("#live:has-text('Live: updates as events arrive')")
        assert tab.page.evaluate(SHOWN, 0)
        loaded = len(navigations)
        for n in (1, 2):
            answer = requests.post(
                pipeline.url("ingest") + "/v1/events",
                data=json.dumps({"events": [factories.make_event("inquiry.received", client_id=f"live-{n}")]}),
                headers={"Authorization": f"Bearer {org.ingest_key}", "Content-Type": "application/json"},
                timeout=10,
            )
            assert answer.status_code == 202
            assert _counted(url, key, n)
            tab.page.wait_for_function(SHOWN, arg=n, timeout=1_000)  # the live feed's change, then the cards
        assert len(navigations) == loaded  # the page was not reloaded
        assert not tab.errors, tab.errors
    finally:
        pipeline.stop()


def test_a_panels_csv_download_is_the_apis_csv(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any], ingest_app: Any, tmp_path: Path
) -> None:
    org = make_org(name="Export Studio", timezone="America/New_York", currency="USD")
    post(
        ingest_app,
        org.ingest_key,
        [factories.make_event("inquiry.received", client_id=f"c-{i}", lead_source=s) for i, s in enumerate("aab")]
        + [factories.make_event("payment.succeeded", payment_id="p-1", amount_minor=250_000, currency="USD")],
    )
    drain(views=True)
    key = browser.checker_key(org.id)
    today = date.fromisoformat(browser.api_json(dashboard_url, key, "/v1/organization")["today"])
    window = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}
    tab = browser.open_tab(chromium)
    tab.page.goto(signin.link(dashboard_url, org.read_key))
    browser.wait_loaded(tab)
    cases = [
        ("#cards-csv a", "/v1/metrics/overview", window),
        ("#revenue-csv a", "/v1/revenue", window),
        ("#leads-csv a >> nth=0", "/v1/metrics/breakdown", {**window, "metric": "inquiries", "by": "lead_source"}),
    ]
    for selector, path, params in cases:
        with tab.page.expect_download() as started:
            tab.page.click(selector)
        saved = tmp_path / started.value.suggested_filename
        started.value.save_as(saved)
        assert saved.read_bytes() == browser.api(dashboard_url, key, path, **params, format="csv"), path
        assert saved.name.endswith(f"-{window['from']}-{window['to']}.csv")
    assert "lead_source,a,,2" in (tmp_path / f"metrics-breakdown-{window['from']}-{window['to']}.csv").read_text()
    assert not tab.errors, tab.errors
