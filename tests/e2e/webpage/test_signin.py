"""Signing in to the web page in a real browser: with a read key, a Supabase user's token and a share link; an
expired or revoked share link is refused with a sentence that says so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.core import db
from shared.dashboard import sharelinks
from shared.tools import signin
from tests.e2e.webpage import browser
from tests.integration.dashboard.support import token


def test_a_read_key_signs_in_leaves_the_address_bar_and_shows_the_empty_state(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any]
) -> None:
    org = make_org()
    tab = browser.open_tab(chromium, browser.PHONE)
    tab.page.goto(signin.link(dashboard_url, org.read_key))
    browser.wait_loaded(tab)
    assert tab.page.evaluate("document.body.dataset.loaded") == "true"
    assert "key=" not in tab.page.url  # dropped from the address bar once kept in the tab
    assert browser.cards(tab)["inquiries"]["shown"] == "0"
    assert tab.page.get_by_text("No events yet").is_visible()
    assert tab.page.locator("[data-panel=admin]").is_hidden()  # a read key is no admin
    assert not tab.errors, tab.errors  # nothing refused by the content security policy, no script errors


def test_a_supabase_users_token_in_the_fragment_signs_in(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any]
) -> None:
    org = make_org(name="Token Studio")
    tab = browser.open_tab(chromium)
    tab.page.goto(f"{dashboard_url}/#access_token={token(org.id)}")
    browser.wait_loaded(tab)
    assert tab.page.evaluate("document.body.dataset.loaded") == "true"
    assert "access_token" not in tab.page.url
    assert tab.page.locator("#cards .card").count() >= 4
    assert not tab.errors, tab.errors


def test_a_token_handed_over_by_the_opening_app_signs_in(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any]
) -> None:
    org = make_org(name="Embedded Studio")
    handed = token(org.id)
    tab = browser.open_tab(chromium)
    tab.page.goto(f"{dashboard_url}/v1/openapi.json")  # the "app": a window of the same origin opens the page
    with tab.page.expect_popup() as opened:
        tab.page.evaluate("url => { window.child = window.open(url); }", f"{dashboard_url}/")
    child = browser.Tab(opened.value)
    child.page.wait_for_selector("#signin:not([hidden])")
    tab.page.evaluate("t => window.child.postMessage({type: 'wedsync-access-token', access_token: t}, '*')", handed)
    browser.wait_loaded(child)
    child.page.wait_for_selector("#dashboard:not([hidden]) #cards .card")
    assert child.page.evaluate("sessionStorage.getItem('wedsync.credential')") == handed


def _link(org_id: Any, **options: Any) -> sharelinks.CreatedLink:
    with db.transaction() as conn:
        return sharelinks.create(conn, org_id, **options)


def test_a_share_link_opens_a_read_only_view_of_its_panels_only(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any]
) -> None:
    org = make_org(name="Shared Studio")
    link = _link(org.id, panels=["overview", "revenue"], label="accountant")
    tab = browser.open_tab(chromium)
    tab.page.goto(f"{dashboard_url}/?share={link.token}")
    browser.wait_loaded(tab)
    assert tab.page.evaluate("document.body.dataset.loaded") == "true"
    assert "share=" not in tab.page.url
    assert tab.page.locator("#revenue").is_visible() and tab.page.locator("#cards .card").count() >= 4
    assert tab.page.locator("#funnel").is_hidden() and tab.page.locator("#quality").is_hidden()
    assert tab.page.get_by_text("Shared view (read only)").is_visible()
    assert tab.page.locator("#upcoming").is_visible()  # the weddings' money belongs to the revenue panel
    assert not tab.errors, tab.errors
    tab.page.context.close()
    only_overview = _link(org.id, panels=["overview"], label="partner")
    tab = browser.open_tab(chromium)
    tab.page.goto(f"{dashboard_url}/?share={only_overview.token}")
    browser.wait_loaded(tab)
    assert tab.page.locator("#cards .card").count() >= 4 and tab.page.locator("#season").is_visible()
    assert tab.page.locator("#revenue").is_hidden() and tab.page.locator("#upcoming").is_hidden()
    assert not tab.errors, tab.errors


def test_an_expired_or_revoked_share_link_is_refused_saying_why(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any]
) -> None:
    org = make_org(name="Closed Studio")
    revoked = _link(org.id)
    with db.transaction() as conn:
        sharelinks.revoke(conn, revoked.id)
    expired = sharelinks.token(_link(org.id).id, datetime.now(UTC) - timedelta(minutes=1))
    for given, reason in [(revoked.token, "was revoked on"), (expired, "has expired")]:
        tab = browser.open_tab(chromium)
        tab.page.goto(f"{dashboard_url}/?share={given}")
        tab.page.wait_for_selector("body[data-loaded='signed-out']")
        message = tab.page.locator("#problem").inner_text()
        assert message.startswith("This share link no longer opens the dashboard") and reason in message
        assert tab.page.locator("#dashboard").is_hidden() and tab.page.locator("#signin").is_visible()
