"""CSV from the dashboard API: every read endpoint answers CSV with the same numbers as its JSON, RFC 4180
quoting, its own ETag and 304, an attachment name, and refuses formats it does not have."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from functions.dashboard import main as dashboard_main
from shared.aggregate import aggregation
from shared.core import apikeys, db, settings
from shared.dashboard import answercache, auth, csvexport
from shared.metrics import rollups
from shared.refresh import views as refresh
from shared.validate import validation
from tests import factories

TZ = "America/New_York"
WINDOW = {"from": "2026-10-01", "to": "2026-10-31"}
AWKWARD = 'Smith, "The Barn" & Co'


@pytest.fixture(autouse=True)
def _fresh(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings.clear_cache()
    answercache.cache.clear()
    apikeys.cache.clear()
    auth.jwks.clear()


def _at(day: str, hm: str) -> str:
    return datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=ZoneInfo(TZ)).isoformat()


@pytest.fixture
def org(ingest_app: Any, make_org: Callable[..., Any]) -> Any:
    """An organization in New York with inquiries (one from a source with a comma and quotes), bookings, a
    cancellation, payments in two currencies and a refund, drained through to the views."""
    org = make_org(timezone=TZ, currency="USD")
    batch = [
        factories.make_event(
            "inquiry.received", client_id=f"c{i}", lead_source=source, occurred_at=_at("2026-10-02", "23:30")
        )
        for i, source in enumerate(["instagram", "google", "instagram"])
    ]
    batch += [
        factories.make_event(
            "booking.confirmed",
            client_id=f"c{i}",
            booking_id=f"b{i}",
            currency="USD",
            occurred_at=_at("2026-10-05", "10:00"),
        )
        for i in range(2)
    ]
    batch += [
        factories.make_event(
            "booking.cancelled", client_id="c1", booking_id="b1", occurred_at=_at("2026-10-07", "09:00")
        ),
        factories.make_event(
            "payment.succeeded",
            payment_id="p0",
            booking_id="b0",
            client_id="c0",
            amount_minor=123_456,
            currency="USD",
            kind="deposit",
            occurred_at=_at("2026-10-08", "12:00"),
        ),
        factories.make_event(
            "payment.succeeded",
            payment_id="p1",
            amount_minor=7_000,
            currency="EUR",
            occurred_at=_at("2026-10-09", "12:00"),
        ),
        factories.make_event(
            "payment.refunded",
            payment_id="p0",
            amount_minor=1_001,
            currency="USD",
            occurred_at=_at("2026-10-10", "12:00"),
        ),
    ]
    answer = ingest_app.post(
        "/v1/events",
        data=json.dumps({"events": batch}),
        headers={"Authorization": f"Bearer {org.ingest_key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.json
    assert not validation.drain(db.transaction)[1]
    assert not aggregation.drain(db.transaction)[1]
    refresh.run(db.transaction, force=True)
    return org


def _get(app: Any, path: str, key: str, headers: dict[str, str] | None = None, /, **params: str) -> Any:
    return app.get(path, query_string=params, headers={"Authorization": f"Bearer {key}", **(headers or {})})


def _rows(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.data
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(answer.data.decode(), newline="")))


def _num(cell: str) -> Any:
    return None if cell == "" else json.loads(cell)


# Per endpoint: its parameters, and the numbers keyed by what identifies them, from the JSON and from the CSV.
Extract = Callable[[Any], dict[Any, Any]]
CASES: dict[str, tuple[dict[str, str], Extract, Extract]] = {
    "/v1/metrics/overview": (
        WINDOW,
        lambda j: {(m["metric"], m["currency"]): (m["value"], m["previous"], m["change"]) for m in j["metrics"]},
        lambda rows: {
            (r["metric"], r["currency"] or None): (_num(r["value"]), _num(r["previous"]), _num(r["change"]))
            for r in rows
        },
    ),
    "/v1/metrics/timeseries": (
        {**WINDOW, "metric": "revenue_gross"},
        lambda j: {(s["currency"], p["start"][:10]): p["value"] for s in j["series"] for p in s["points"]},
        lambda rows: {(r["currency"] or None, r["start"][:10]): _num(r["value"]) for r in rows},
    ),
    "/v1/metrics/breakdown": (
        {**WINDOW, "metric": "inquiries", "by": "lead_source"},
        lambda j: {(r["key"], r["currency"]): r["value"] for r in j["rows"]},
        lambda rows: {(r["key"], r["currency"] or None): _num(r["value"]) for r in rows},
    ),
    "/v1/funnel": (
        WINDOW,
        lambda j: (
            {("stage", s["stage"]): s["clients"] for s in j["funnel"]["stages"]}
            | {("bookings", b["currency"]): (b["bookings"], b["cancelled"], b["value_minor"]) for b in j["bookings"]}
            | {"conversion": j["funnel"]["conversion_rate"]}
        ),
        lambda rows: (
            {("stage", r["stage"]): _num(r["clients"]) for r in rows if r["section"] == "stage"}
            | {
                ("bookings", r["currency"]): (_num(r["bookings"]), _num(r["cancelled"]), _num(r["value_minor"]))
                for r in rows
                if r["section"] == "bookings"
            }
            | {"conversion": _num(rows[0]["conversion_rate"])}
        ),
    ),
    "/v1/revenue": (
        WINDOW,
        lambda j: {
            c["currency"]: (c["gross_minor"], c["refunds_minor"], c["net_minor"], c["payments"], c["by_kind_minor"])
            for c in j["currencies"]
        },
        lambda rows: {
            r["currency"]: (
                _num(r["gross_minor"]),
                _num(r["refunds_minor"]),
                _num(r["net_minor"]),
                _num(r["payments"]),
                {
                    k: _num(r[f"{k}_minor"])
                    for k in ("deposit", "instalment", "balance", "other")
                    if r[f"{k}_minor"] != "0"
                },
            )
            for r in rows
        },
    ),
    "/v1/quality": (
        WINDOW,
        lambda j: (
            {("total", t["source"]): (t["received"], t["stored"], t["rejected"]) for t in j["totals"]}
            | {("period", p["start"], p["source"]): p["stored"] for p in j["sources"]}
            | {"waiting": j["dead_letters_waiting"], "queues": sorted(q["queue"] for q in j["queues"])}
        ),
        lambda rows: (
            {
                ("total", r["source"]): (_num(r["received"]), _num(r["stored"]), _num(r["rejected"]))
                for r in rows
                if r["section"] == "source_total"
            }
            | {
                ("period", datetime.fromisoformat(r["period_start"]), r["source"]): _num(r["stored"])
                for r in rows
                if r["section"] == "source_period"
            }
            | {
                "waiting": _num(rows[0]["dead_letters_waiting"]),
                "queues": sorted(r["queue"] for r in rows if r["section"] == "queue"),
            }
        ),
    ),
    "/v1/metrics": (
        {},
        lambda j: {m["name"]: (m["unit"], m["dimensions"]) for m in j["metrics"]},
        lambda rows: {r["name"]: (r["unit"], r["dimensions"].split()) for r in rows},
    ),
    "/v1/organization": (
        {},
        lambda j: {k: str(v).lower() if isinstance(v, bool) else v for k, v in j.items() if k != "panels"},
        lambda rows: {k: v for k, v in rows[0].items() if k != "panels"},
    ),
    "/v1/reports": (
        {},
        lambda j: {r["id"]: r["status"] for r in j["reports"]},
        lambda rows: {r["id"]: r["status"] for r in rows},
    ),
}


@pytest.mark.parametrize("path", list(CASES))
def test_every_endpoint_answers_csv_with_the_numbers_of_its_json(dashboard_app: Any, org: Any, path: str) -> None:
    params, from_json, from_csv = CASES[path]
    as_json = _get(dashboard_app, path, org.read_key, **params)
    assert as_json.status_code == 200, as_json.json
    by_accept = _get(dashboard_app, path, org.read_key, {"Accept": "text/csv"}, **params)
    by_param = _get(dashboard_app, path, org.read_key, **params, format="csv")
    rows = _rows(by_accept)
    if "X-Cache" in by_accept.headers and by_accept.headers["Cache-Control"] != "no-store":
        assert by_param.data == by_accept.data
    expected = from_json(as_json.json)
    if path == "/v1/quality":  # JSON instants are UTC, CSV ones local: compare them as instants
        expected = {
            (k[0], datetime.fromisoformat(k[1].replace("Z", "+00:00")), k[2]) if k[0] == "period" else k: v
            for k, v in expected.items()
        }
    assert from_csv(rows) == expected
    header = by_accept.data.decode().split("\r\n", 1)[0]
    assert header == header.strip() and "," in header
    stem = path.removeprefix("/v1/").replace("/", "-")
    name = f"{stem}-2026-10-01-2026-10-31.csv" if params else f"{stem}.csv"
    assert by_accept.headers["Content-Disposition"] == f'attachment; filename="{name}"'


def test_csv_numbers_are_the_generated_ones_in_minor_units_and_local_time(dashboard_app: Any, org: Any) -> None:
    rows = _rows(_get(dashboard_app, "/v1/revenue", org.read_key, format="csv", **WINDOW))
    usd = next(r for r in rows if r["currency"] == "USD")
    assert (usd["gross_minor"], usd["refunds_minor"], usd["net_minor"], usd["deposit_minor"]) == (
        "123456",
        "1001",
        "122455",
        "123456",
    )
    assert usd["start"] == "2026-10-01T00:00:00-04:00" and usd["end"] == "2026-11-01T00:00:00-04:00"
    series = _rows(
        _get(dashboard_app, "/v1/metrics/timeseries", org.read_key, format="csv", metric="inquiries", **WINDOW)
    )
    assert {r["start"]: r["value"] for r in series}["2026-10-02T00:00:00-04:00"] == "3"  # 23:30 local stays local


def test_a_lead_source_with_a_comma_and_quotes_is_quoted_per_rfc_4180(dashboard_app: Any, org: Any) -> None:
    # Ingest only admits slugs as lead sources, so the awkward value is put into the API's own answer.
    params = {"metric": "inquiries", "by": "lead_source", **WINDOW}
    answer = rollups.Breakdown.model_validate(_get(dashboard_app, "/v1/metrics/breakdown", org.read_key, **params).json)
    answer.rows[0].key = AWKWARD
    lines = csvexport.render(answer, ZoneInfo(TZ)).decode().split("\r\n")
    assert lines[:2] == [
        "metric,unit,by,key,currency,value",
        'inquiries,count,lead_source,"Smith, ""The Barn"" & Co",,2',
    ]
    assert next(csv.DictReader(lines[:2]))["key"] == AWKWARD


def test_the_csv_has_its_own_etag_and_a_304_for_it(dashboard_app: Any, org: Any) -> None:
    path, params = "/v1/metrics/overview", WINDOW
    as_json = _get(dashboard_app, path, org.read_key, **params)
    as_csv = _get(dashboard_app, path, org.read_key, format="csv", **params)
    csv_tag, json_tag = as_csv.headers["ETag"], as_json.headers["ETag"]
    assert csv_tag != json_tag
    assert as_csv.headers["Cache-Control"] == as_json.headers["Cache-Control"] == "private, max-age=0, must-revalidate"
    assert "Accept" in as_csv.headers["Vary"]
    again = _get(dashboard_app, path, org.read_key, {"Accept": "text/csv", "If-None-Match": csv_tag}, **params)
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == csv_tag
    cached = _get(dashboard_app, path, org.read_key, {"Accept": "text/csv"}, **params)
    assert cached.headers["X-Cache"] == "memory" and cached.data == as_csv.data
    # A JSON ETag does not validate the CSV (and the other way round): a full answer of the asked format.
    crossed = _get(dashboard_app, path, org.read_key, {"If-None-Match": json_tag}, format="csv", **params)
    assert crossed.status_code == 200 and crossed.headers["ETag"] == csv_tag
    crossed = _get(dashboard_app, path, org.read_key, {"If-None-Match": csv_tag}, **params)
    assert crossed.status_code == 200 and crossed.headers["ETag"] == json_tag and crossed.json["metrics"]


@pytest.mark.parametrize(
    ("headers", "params", "status"),
    [
        ({}, {"format": "xml"}, 400),
        ({}, {"format": ""}, 400),
        ({"Accept": "application/xml"}, {}, 406),
        ({"Accept": "text/html, image/png;q=0.5"}, {}, 406),
        ({"Accept": "text/csv;q=0, application/json;q=0"}, {}, 406),
    ],
)
def test_an_unsupported_format_is_refused(
    dashboard_app: Any, make_org: Callable[..., Any], headers: dict[str, str], params: dict[str, str], status: int
) -> None:
    org = make_org()
    for path in ("/v1/revenue", "/v1/metrics", "/v1/quality", "/v1/reports"):
        answer = _get(dashboard_app, path, org.read_key, headers, **params)
        assert answer.status_code == status, (path, answer.data)
        assert answer.json["error"] in ("invalid_query", "not_acceptable")


def test_json_stays_the_default_and_format_wins_over_accept(dashboard_app: Any, make_org: Callable[..., Any]) -> None:
    org = make_org()
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "application/json, text/csv;q=0.5"}):
        assert _get(dashboard_app, "/v1/revenue", org.read_key, headers).headers["Content-Type"] == "application/json"
    answer = _get(dashboard_app, "/v1/revenue", org.read_key, {"Accept": "application/json"}, format="csv")
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert dashboard_main.CACHE_CONTROL in answer.headers["Cache-Control"]
