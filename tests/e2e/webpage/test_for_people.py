"""The page for people: one column on a phone without sideways scrolling, and no serious or critical
accessibility violation found by axe-core (vendored, injected only by this test) in light and dark colours,
with every chart's table opened, on a generated organization and on the sign-in form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.tools import signin
from tests.e2e.webpage import browser, generated

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def _violations(tab: browser.Tab) -> list[str]:
    if not tab.page.evaluate("typeof axe !== 'undefined'"):
        tab.page.add_script_tag(path=str(browser.AXE))
    tab.page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")
    found: list[dict[str, Any]] = tab.page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(r => r.violations)", TAGS
    )
    return [
        f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def organization(make_org: Callable[..., Any], ingest_app: Any) -> Any:
    return generated.organization(make_org, ingest_app, months=3)


def test_a_phone_shows_one_column_without_sideways_scrolling(
    chromium: Any, dashboard_url: str, organization: Any
) -> None:
    tab = browser.open_tab(chromium, {"width": 320, "height": 800})
    tab.page.goto(signin.link(dashboard_url, organization.read_key))
    browser.wait_loaded(tab)
    tab.page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")
    for width in (320, 375, 390):  # one tab, resized: one live stream, whatever the organization's cap
        tab.page.set_viewport_size({"width": width, "height": 800})
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= width
        lefts = tab.page.eval_on_selector_all("#dashboard > section:not([hidden])", "all => all.map(s => s.offsetLeft)")
        assert len(set(lefts)) == 1  # every panel starts at the same left edge: one column
    assert not tab.errors, tab.errors


@pytest.mark.timeout(300)  # one page load and four axe runs on the busy 2-core machine
def test_axe_finds_no_serious_or_critical_violation_on_a_full_dashboard(
    chromium: Any, dashboard_url: str, organization: Any
) -> None:
    # One tab for every colour scheme and size: an organization holds at most three live streams, and a closed
    # tab's stream is only released at the server's next heartbeat, so new tabs per case could find the cap
    # taken. Here exactly one stream is open, so the page settles on "Live" every time.
    tab = browser.open_tab(chromium, browser.DESKTOP, bypass_csp=True, color_scheme="light")  # to inject axe
    tab.page.goto(signin.link(dashboard_url, organization.read_key))
    browser.wait_loaded(tab)
    assert tab.page.locator("#cards .card").count() >= 6
    tab.page.wait_for_selector("#live:has-text('Live: updates as events arrive')")
    for scheme, viewport in [(s, v) for s in ("light", "dark") for v in (browser.DESKTOP, browser.PHONE)]:
        tab.page.emulate_media(color_scheme=scheme)
        tab.page.set_viewport_size(viewport)
        assert tab.page.evaluate(f"matchMedia('(prefers-color-scheme: {scheme})').matches")
        assert _violations(tab) == [], (scheme, viewport)
    assert "Live: updates as events arrive" in tab.page.inner_text("#live")
    assert not tab.errors, tab.errors


def test_axe_finds_no_serious_or_critical_violation_on_the_sign_in_form_with_an_error(
    chromium: Any, dashboard_url: str
) -> None:
    tab = browser.open_tab(chromium, browser.PHONE, bypass_csp=True)
    tab.page.goto(f"{dashboard_url}/?key=wsk_not_a_real_key")
    tab.page.wait_for_selector("body[data-loaded='signed-out']")
    assert "not valid any more" in tab.page.locator("#problem").inner_text()
    assert _violations(tab) == []
