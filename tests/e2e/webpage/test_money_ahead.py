"""The money panels show the API's answers: the upcoming weddings panel is GET /v1/weddings by month from this
month on in the organization's calendar (weddings, booked, paid and outstanding per currency, the balances due in
the next 30 days, each season's pace), its CSV is the weddings CSV; the revenue panel's home-currency total is
/v1/revenue's `home_currency`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shared.core import db
from shared.tools import fxload, signin
from tests import factories, fx_model
from tests.e2e.webpage import browser, generated
from tests.integration.dashboard.support import drain, post

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}  # the generated business's currencies, shown in en-US


def _money(minor: int, currency: str) -> str:
    assert currency in SYMBOLS, currency
    sign = "-" if minor < 0 else ""
    return f"{sign}{SYMBOLS[currency]}{abs(minor) / 100:,.2f}"


def _month(key: str) -> str:
    return date.fromisoformat(f"{key[:7]}-01").strftime("%b %Y")


def _months_ahead(today: date) -> dict[str, str]:
    first = today.replace(day=1)
    year, month = divmod(first.month - 1 + 12, 12)
    last = date(first.year + year, month + 1, 1).toordinal() - 1
    return {"from": first.isoformat(), "to": date.fromordinal(last).isoformat()}


def _rows(tab: browser.Tab, selector: str) -> list[list[str]]:
    rows: list[list[str]] = tab.page.eval_on_selector_all(
        selector, "rows => rows.map(r => [...r.cells].map(c => c.textContent.replaceAll('\\u00a0', ' ')))"
    )
    return rows


def test_the_upcoming_weddings_panel_is_the_weddings_apis_months_dues_pace_and_csv(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any], ingest_app: Any, tmp_path: Path
) -> None:
    org = generated.organization(make_org, ingest_app, months=6)
    key = browser.checker_key(org.id)
    today = date.fromisoformat(browser.api_json(dashboard_url, key, "/v1/organization")["today"])
    params = {**_months_ahead(today), "by": "month", "due_within": "30"}
    answer = browser.api_json(dashboard_url, key, "/v1/weddings", **params)
    periods = [p for p in answer["periods"] if p["weddings"] or p["booked_minor"] or p["paid_minor"] or p["cancelled"]]
    assert periods and answer["pace"]  # the generated months book weddings ahead
    tab = browser.open_tab(chromium)
    tab.page.goto(signin.link(dashboard_url, org.read_key))
    browser.wait_loaded(tab)

    assert _rows(tab, "#upcoming table tbody tr") == [
        [
            _month(p["period"]),
            p["currency"],
            f"{p['weddings']:,}",
            _money(p["booked_minor"], p["currency"]),
            _money(p["paid_minor"], p["currency"]),
            _money(p["outstanding_minor"], p["currency"]),
            f"{p['cancelled']:,}",
        ]
        for p in periods
    ]
    total = sum(p["weddings"] for p in periods)
    assert tab.page.get_attribute("#upcoming .big", "data-weddings") == str(total)
    due = [[b["currency"], b["weddings"], b["outstanding_minor"]] for b in answer["due"]["balances"] if b["weddings"]]
    assert tab.page.evaluate("JSON.parse(document.getElementById('upcoming-due').dataset.due)") == due
    due_text = tab.page.inner_text("#upcoming-due").replace("\xa0", " ")
    assert all(_money(minor, currency) in due_text for currency, _, minor in due)
    pace = tab.page.eval_on_selector_all(
        "#upcoming .pace", "all => all.map(p => [p.dataset.season, p.dataset.currency, p.textContent])"
    )
    assert [[s, c] for s, c, _ in pace] == [[p["season"], p["currency"]] for p in answer["pace"]]
    for (_, _, text), p in zip(pace, answer["pace"], strict=True):
        text = text.replace("\xa0", " ")
        assert f"{p['weddings']:,} weddings, {_money(p['booked_minor'], p['currency'])} booked" in text
        assert f"had {p['last_weddings']:,} ({_money(p['last_booked_minor'], p['currency'])})" in text

    with tab.page.expect_download() as started:
        tab.page.click("#upcoming-csv a")
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    assert saved.read_bytes() == browser.api(dashboard_url, key, "/v1/weddings", **params, format="csv")
    assert not tab.errors, tab.errors


def test_the_revenue_panel_and_card_show_the_apis_home_currency_total_and_what_could_not_be_converted(
    chromium: Any, dashboard_url: str, make_org: Callable[..., Any], ingest_app: Any
) -> None:
    org = make_org(name="Tokyo Studio", timezone="UTC", currency="JPY")  # home currency JPY: no minor unit
    key = browser.checker_key(org.id)
    today = date.fromisoformat(browser.api_json(dashboard_url, key, "/v1/organization")["today"])
    with db.transaction() as conn:
        fxload.load(conn, "test", fx_model.table(today - timedelta(days=40), today, seed=15).csv())
    amounts = {"JPY": 250_000, "EUR": 123_456, "USD": 99_999, "NPR": 500_000}  # NPR: the ECB does not quote it
    post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event("payment.succeeded", payment_id=f"p-{c}", amount_minor=n, currency=c)
            for c, n in amounts.items()
        ],
    )
    drain(views=True)
    window = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}
    home = browser.api_json(dashboard_url, key, "/v1/revenue", **window)["home_currency"]
    assert home["currency"] == "JPY" and [n["currency"] for n in home["not_convertible"]] == ["NPR"]
    tab = browser.open_tab(chromium)
    tab.page.goto(signin.link(dashboard_url, org.read_key))
    browser.wait_loaded(tab)

    shown = tab.page.eval_on_selector("#revenue-home", "p => ({...p.dataset, text: p.textContent})")
    assert [shown["gross"], shown["refunds"], shown["net"]] == [
        str(home["gross_minor"]),
        str(home["refunds_minor"]),
        str(home["net_minor"]),
    ]
    text = shown["text"].replace("\xa0", " ")
    assert f"net ¥{home['net_minor']:,} (gross ¥{home['gross_minor']:,}, refunds ¥0)" in text  # exponent 0
    assert "at ECB reference rates of each day" in text
    left = tab.page.inner_text("#revenue-unconverted").replace("\xa0", " ")
    assert "NPR 5,000.00 net" in left and "does not quote" in left
    overview = browser.api_json(dashboard_url, key, "/v1/metrics/overview", **window)
    card = browser.cards(tab)["home:revenue_net:JPY"]
    assert card["value"] == str(overview["home_currency"]["values"]["revenue_net"])
    assert card["shown"] == f"¥{int(card['value'] or 0):,}"
    assert not tab.errors, tab.errors
