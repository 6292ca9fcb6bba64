"""The page's numbers are the API's: the cards of a generated organization against the previous period and the
same period last year, the presets in the organization's calendar, the interval's weeks from its week start,
and money shown with each currency's own number of decimals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from shared.tools import signin
from tests import factories
from tests.e2e.webpage import browser, generated
from tests.integration.dashboard.support import post


def _window(first: date, last: date) -> dict[str, str]:
    return {"from": first.isoformat(), "to": last.isoformat()}


def _same(shown: str | None, value: Any) -> bool:
    return (shown is None and value is None) or (shown is not None and value is not None and float(shown) == value)


def _assert_cards_are_the_apis(tab: browser.Tab, url: str, key: str, first: date, last: date) -> None:
    year_ago = _window(first - timedelta(days=364), last - timedelta(days=364))
    now = {
        f"{m['metric']}{':' + m['currency'] if m['currency'] else ''}": m
        for m in _overview(url, key, _window(first, last))
    }
    before = {f"{m['metric']}{':' + m['currency'] if m['currency'] else ''}": m for m in _overview(url, key, year_ago)}
    cards = browser.cards(tab)
    assert {"inquiries", "bookings", "weddings_booked", "new_clients"} <= set(cards)
    home = [name for name in cards if name.startswith("home:")]  # the home-currency card: test_money_ahead.py
    for name, card in cards.items():
        if name in home:
            continue
        assert _same(card["value"], now[name]["value"]), name
        assert _same(card["previous"], now[name]["previous"]), name
        assert _same(card["last_year"], before[name]["value"] if name in before else None), name


def _overview(url: str, key: str, window: dict[str, str]) -> list[dict[str, Any]]:
    metrics: list[dict[str, Any]] = browser.api_json(url, key, "/v1/metrics/overview", **window)["metrics"]
    return metrics


def _trend_rows(tab: browser.Tab) -> list[list[str]]:
    rows: list[list[str]] = tab.page.eval_on_selector_all(
        "#trend tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    return rows


def test_the_cards_of_a_generated_organization_are_the_apis_numbers_against_both_comparisons(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any], ingest_app: Any
) -> None:
    org = generated.organization(make_org, ingest_app)
    key = browser.checker_key(org.id)
    today = date.fromisoformat(browser.api_json(dashboard_url, key, "/v1/organization")["today"])
    tab = browser.open_tab(chromium)
    tab.page.goto(signin.link(dashboard_url, org.read_key))
    browser.wait_loaded(tab)
    _assert_cards_are_the_apis(tab, dashboard_url, key, today - timedelta(days=29), today)
    inquiries = browser.cards(tab)["inquiries"]
    assert inquiries["value"] and int(inquiries["value"]) > 0  # the generated months reach the last 30 days
    assert inquiries["shown"] == f"{int(inquiries['value']):,}"
    revenue = next(v for k, v in browser.cards(tab).items() if k.startswith("revenue_net:GBP"))
    assert revenue["shown"] == f"£{int(revenue['value'] or 0) / 100:,.2f}"
    assert tab.page.locator("#leads tbody tr").count() >= 2 and tab.page.locator("#season tbody tr").count() == 12
    assert not tab.errors, tab.errors


def test_presets_follow_the_organizations_calendar_and_the_interval_its_week_start(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any], ingest_app: Any
) -> None:
    org = generated.organization(make_org, ingest_app, timezone="Pacific/Auckland", reports={"week_start": "sunday"})
    key = browser.checker_key(org.id)
    calendar = browser.api_json(dashboard_url, key, "/v1/organization")
    today = date.fromisoformat(calendar["today"])
    assert calendar["week_start"] == "sunday"
    tab = browser.open_tab(chromium)
    tab.page.goto(signin.link(dashboard_url, org.read_key))
    browser.wait_loaded(tab)

    def choose(select: str, value: str) -> None:
        before = browser.refreshes(tab)
        tab.page.select_option(select, value)
        browser.after_refresh(tab, before)

    choose("#preset", "year")
    _assert_cards_are_the_apis(tab, dashboard_url, key, date(today.year, 1, 1), today)
    choose("#preset", "week")
    sunday = today - timedelta(days=(today.weekday() + 1) % 7)
    _assert_cards_are_the_apis(tab, dashboard_url, key, sunday, today)

    choose("#preset", "custom")
    first, last = today - timedelta(days=70), today - timedelta(days=1)
    tab.page.fill("#from", first.isoformat())
    before = browser.refreshes(tab)
    tab.page.fill("#to", last.isoformat())
    tab.page.dispatch_event("#to", "change")
    browser.after_refresh(tab, before)
    _assert_cards_are_the_apis(tab, dashboard_url, key, first, last)

    choose("#interval", "week")
    series = browser.api_json(
        dashboard_url, key, "/v1/metrics/timeseries", metric="inquiries", interval="week", **_window(first, last)
    )
    points = series["series"][0]["points"]
    rows = _trend_rows(tab)
    assert [r[0] for r in rows] == [p["start"][:10] for p in points]
    assert [r[1] for r in rows] == [f"{p['value'] or 0:,}" for p in points]
    assert all(date.fromisoformat(r[0]).weekday() == 6 for r in rows[1:])  # weeks start on Sunday
    choose("#interval", "month")
    assert [r[0][8:] for r in _trend_rows(tab)][1:] == ["01"] * (len(_trend_rows(tab)) - 1)
    assert not tab.errors, tab.errors


def test_money_is_shown_with_each_currencys_own_decimals(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any], ingest_app: Any
) -> None:
    from tests.integration.dashboard.support import drain

    org = make_org(name="Three Currencies", currency="JPY")
    post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event("payment.succeeded", payment_id=f"p-{c}", amount_minor=123456, currency=c)
            for c in ("JPY", "BHD", "EUR")
        ],
    )
    drain(views=True)
    tab = browser.open_tab(chromium)
    tab.page.goto(signin.link(dashboard_url, org.read_key))
    browser.wait_loaded(tab)
    shown = {
        k: (v["shown"] or "").replace("\xa0", " ")
        for k, v in browser.cards(tab).items()
        if k.startswith("revenue_net:")
    }
    assert shown == {"revenue_net:BHD": "BHD 123.456", "revenue_net:EUR": "€1,234.56", "revenue_net:JPY": "¥123,456"}
    revenue = tab.page.locator("#revenue").inner_text().replace("\xa0", " ")
    assert "BHD 123.456" in revenue and "¥123,456" in revenue and "€1,234.56" in revenue
    assert not tab.errors, tab.errors
