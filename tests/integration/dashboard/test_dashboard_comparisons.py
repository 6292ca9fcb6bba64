"""Comparisons that fit a seasonal business (the overview's ?compare=), the wedding-date axis over HTTP, and
the per-person definitions (new clients, bookings once) as the dashboard serves them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from tests import factories
from tests.integration.dashboard import support

TZ = "Europe/London"


def _inquiries(days: list[str], hm: str = "12:00") -> list[dict[str, Any]]:
    return [
        factories.make_event("inquiry.received", occurred_at=support.at(d, hm, TZ), client_id=f"c-{d}") for d in days
    ]


def test_last_year_compares_with_the_same_weekdays_52_weeks_earlier(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any]
) -> None:
    org = make_org(timezone=TZ)
    # The period: Saturday 2026-06-06 .. Sunday 2026-06-14. 364 days earlier: Saturday 2025-06-07 .. 2025-06-15.
    support.post(
        ingest_app,
        org.ingest_key,
        _inquiries(["2026-06-06", "2026-06-13", "2026-06-14"])
        + _inquiries(["2025-06-07", "2025-06-15"])  # inside the aligned period
        + _inquiries(["2025-06-06", "2025-06-16"]),  # the calendar dates' neighbours: outside it
    )
    support.drain()
    args = {"from": "2026-06-06", "to": "2026-06-14", "compare": "last_year"}
    body = support.get(dashboard_app, "/v1/metrics/overview", org.read_key, **args).json
    assert body["compare"] == "last_year"
    start, previous = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["previous_start"])
    assert start - previous == timedelta(days=364)
    assert start.weekday() == previous.weekday()
    inquiries = support.value(body, "inquiries")
    assert (inquiries["value"], inquiries["previous"], inquiries["change"]) == (3, 2, 1)
    series = support.get(
        dashboard_app, "/v1/metrics/timeseries", org.read_key, metric="inquiries", interval="day", **args
    ).json
    [before] = series["comparison"]
    assert {p["start"][:10]: p["value"] for p in before["points"] if p["value"]} == {"2025-06-07": 1, "2025-06-15": 1}
    assert len(before["points"]) == len(series["series"][0]["points"]) == 9
    plain = support.get(dashboard_app, "/v1/metrics/timeseries", org.read_key, metric="inquiries", interval="day")
    assert plain.json["comparison"] is None
    default = support.get(dashboard_app, "/v1/metrics/overview", org.read_key, **{**args, "compare": "previous"}).json
    assert default["compare"] == "previous" and default["previous_end"] == default["start"]


def test_season_to_date_runs_from_the_seasons_first_day_and_compares_with_last_season_to_the_same_day(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any]
) -> None:
    org = make_org(timezone=TZ)
    to = date.today() - timedelta(days=3)
    this, last = to.year, to.year - 1
    same_day = to.replace(year=last) if (to.month, to.day) != (2, 29) else date(last, 2, 28)
    support.post(
        ingest_app,
        org.ingest_key,
        _inquiries([f"{this}-01-01", to.isoformat()], "00:10")  # this season to date
        + _inquiries([(to + timedelta(days=1)).isoformat()])  # after `to`: outside
        + _inquiries([f"{last}-01-01", same_day.isoformat()], "00:10")  # last season to the same day
        + _inquiries([(same_day + timedelta(days=1)).isoformat(), f"{last - 1}-12-31"]),  # outside it
    )
    support.drain()
    body = support.get(
        dashboard_app,
        "/v1/metrics/overview",
        org.read_key,
        **{"from": to.isoformat(), "to": to.isoformat(), "compare": "season_to_date"},
    ).json
    assert body["compare"] == "season_to_date"
    assert datetime.fromisoformat(body["start"]).astimezone().date() <= date(this, 1, 1)
    inquiries = support.value(body, "inquiries")
    assert (inquiries["value"], inquiries["previous"]) == (2, 2)


def test_new_clients_count_each_client_once_at_the_first_event_that_names_them(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any]
) -> None:
    org = make_org(timezone=TZ)
    support.post(
        ingest_app,
        org.ingest_key,
        [
            # c-1 first inquires (no client.created at all); c-2 is created later in the period, after an inquiry
            factories.make_event(
                "inquiry.received", occurred_at=support.at("2026-10-02", "10:00", TZ), client_id="c-1"
            ),
            factories.make_event(
                "inquiry.received", occurred_at=support.at("2026-10-03", "10:00", TZ), client_id="c-2"
            ),
            factories.make_event("client.created", occurred_at=support.at("2026-10-04", "10:00", TZ), client_id="c-2"),
            # c-3 was seen before the period: not new in it, though it is created in it
            factories.make_event(
                "payment.succeeded", occurred_at=support.at("2026-09-01", "10:00", TZ), client_id="c-3"
            ),
            factories.make_event("client.created", occurred_at=support.at("2026-10-05", "10:00", TZ), client_id="c-3"),
            # b-1 confirmed twice and cancelled twice: one booking, one cancellation; b-2 cancelled, never confirmed
            factories.make_event(
                "booking.confirmed",
                occurred_at=support.at("2026-10-06", "10:00", TZ),
                booking_id="b-1",
                client_id="c-1",
                value_minor=100_000,
                currency="GBP",
            ),
            factories.make_event(
                "booking.confirmed",
                occurred_at=support.at("2026-10-07", "10:00", TZ),
                booking_id="b-1",
                client_id="c-1",
                value_minor=120_000,
                currency="GBP",
            ),
            factories.make_event(
                "booking.cancelled",
                occurred_at=support.at("2026-10-08", "10:00", TZ),
                booking_id="b-1",
                client_id="c-1",
            ),
            factories.make_event(
                "booking.cancelled",
                occurred_at=support.at("2026-10-09", "10:00", TZ),
                booking_id="b-1",
                client_id="c-1",
            ),
            factories.make_event(
                "booking.cancelled",
                occurred_at=support.at("2026-10-09", "11:00", TZ),
                booking_id="b-2",
                client_id="c-1",
            ),
        ],
    )
    support.drain()
    body = support.get(
        dashboard_app, "/v1/metrics/overview", org.read_key, **{"from": "2026-10-01", "to": "2026-10-10"}
    ).json
    got = {m: support.value(body, m)["value"] for m in ("new_clients", "bookings", "cancellations", "net_bookings")}
    assert got == {"new_clients": 2, "bookings": 1, "cancellations": 1, "net_bookings": 0}
    assert support.value(body, "booking_value", "GBP")["value"] == 120_000  # the latest agreed value, once
    assert support.value(body, "booking_confirmations")["value"] == 2
    catalog = support.get(dashboard_app, "/v1/metrics", org.read_key).json
    definition = {m["name"]: m["definition"] for m in catalog["metrics"]}["new_clients"]
    assert "first event of any type" in definition


def test_the_wedding_axis_answers_json_and_csv_and_refuses_a_bad_question(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any]
) -> None:
    org = make_org(timezone=TZ)
    wedding = date.today() + timedelta(days=12)
    support.post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event(
                "booking.confirmed",
                booking_id="b-1",
                client_id="c-1",
                value_minor=300_000,
                currency="GBP",
                wedding_date=wedding.isoformat(),
            ),
            factories.make_event(
                "payment.succeeded", payment_id="p-1", booking_id="b-1", amount_minor=100_000, currency="GBP"
            ),
        ],
    )
    support.drain()
    answer = support.get(dashboard_app, "/v1/weddings", org.read_key, by="season")
    assert answer.status_code == 200, answer.json
    body = answer.json
    [season] = body["periods"]
    assert season["period"] == str(wedding.year)
    assert (season["weddings"], season["booked_minor"], season["paid_minor"], season["outstanding_minor"]) == (
        1,
        300_000,
        100_000,
        200_000,
    )
    assert body["due"]["within_days"] == 30
    assert [(d["currency"], d["weddings"], d["outstanding_minor"]) for d in body["due"]["balances"]] == [
        ("GBP", 1, 200_000)
    ]
    assert {p["season"] for p in body["pace"]} >= {str(wedding.year)}
    early = support.get(dashboard_app, "/v1/weddings", org.read_key, by="season", due_within="5").json
    assert early["due"]["balances"] == []
    csv = support.get(dashboard_app, "/v1/weddings", org.read_key, {"Accept": "text/csv"}, by="month")
    assert csv.status_code == 200
    assert csv.data.decode().splitlines()[0].startswith("by,today,section,period")
    bad = support.get(
        dashboard_app, "/v1/weddings", org.read_key, by="week", **{"from": "2027-01-02", "to": "2027-01-01"}
    )
    assert bad.status_code == 400
    assert {tuple(f["loc"]) for f in bad.json["fields"]} >= {("by",)}
