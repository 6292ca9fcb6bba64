"""The dashboard API over the functions-framework test client, against events posted through ingest and drained
through validate and aggregate: numbers, zones, RLS, caching, and every kind of bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jwt
import psycopg
import pytest
import redis
import responses
from cryptography.hazmat.primitives.asymmetric import rsa

from functions.dashboard import main as dashboard_main
from shared.aggregate import aggregation
from shared.core import apikeys, db, errors, settings
from shared.dashboard import answercache, auth, openapi, questions, serving
from shared.metrics import funnels, registry, rollups
from shared.refresh import views as refresh
from shared.validate import validation
from tests import factories

SECRET = "test-jwt-secret-of-a-decent-length-0123456789"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPABASE_JWT_SECRET", SECRET)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings.clear_cache()
    answercache.cache.clear()
    apikeys.cache.clear()
    auth.jwks.clear()


def _post(app: Any, key: str, batch: list[dict[str, Any]]) -> None:
    answer = app.post(
        "/v1/events",
        data=json.dumps({"events": batch}),
        headers={"Authorization": f"Bearer {key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.json


def _drain(views: bool = False) -> None:
    assert not validation.drain(db.transaction)[1]
    assert not aggregation.drain(db.transaction)[1]
    if views:
        refresh.run(db.transaction, force=True)


def _get(app: Any, path: str, token: str | None, headers: dict[str, str] | None = None, /, **params: str) -> Any:
    auth_header = {"Authorization": f"Bearer {token}"} if token else {}
    return app.get(path, query_string=params, headers={**auth_header, **(headers or {})})


def _token(
    org_id: Any, *, where: str = "top", exp: int = 3600, aud: str = "authenticated", secret: str = SECRET
) -> str:
    claims: dict[str, Any] = {"sub": "user-1", "aud": aud, "exp": int(time.time()) + exp, "role": "authenticated"}
    if where == "top":
        claims["organization_id"] = str(org_id)
    elif where == "app_metadata":
        claims["app_metadata"] = {"organization_id": str(org_id)}
    return jwt.encode(claims, secret, algorithm="HS256")


def _at(day: str, hm: str, tz: str) -> str:
    return datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=ZoneInfo(tz)).isoformat()


def _value(overview: dict[str, Any], metric: str, currency: str | None = None) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        m for m in overview["metrics"] if m["metric"] == metric and m["currency"] == currency
    ]
    assert len(found) == 1, (metric, currency, found)
    return found[0]


# ----- numbers ------------------------------------------------------------------------------------------------


def test_overview_counts_the_posted_events_and_compares_with_the_previous_period_of_equal_length(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org(timezone="Europe/London", currency="GBP")
    now_days = [f"2026-10-{d:02d}" for d in (1, 5, 10)]  # the period: 2026-10-01 .. 2026-10-10 (10 days)
    before_days = ["2026-09-21", "2026-09-30"]  # the previous 10 days: 2026-09-21 .. 2026-09-30
    batch = [
        factories.make_event("inquiry.received", occurred_at=_at(d, "12:00", "Europe/London"), client_id=f"c-{i}")
        for i, d in enumerate(now_days * 2)
    ]
    batch += [
        factories.make_event("inquiry.received", occurred_at=_at(d, "12:00", "Europe/London")) for d in before_days
    ]
    amounts = [12_000, 30_500, 7_25]
    batch += [
        factories.make_event(
            "payment.succeeded",
            payment_id=f"p{i}",
            amount_minor=a,
            currency="GBP",
            occurred_at=_at("2026-10-03", "09:00", "Europe/London"),
        )
        for i, a in enumerate(amounts)
    ]
    batch += [
        factories.make_event(
            "payment.succeeded",
            payment_id="pe",
            amount_minor=9_999,
            currency="EUR",
            occurred_at=_at("2026-10-04", "09:00", "Europe/London"),
        )
    ]
    batch += [factories.make_event("inquiry.received", occurred_at=_at("2026-10-11", "00:30", "Europe/London"))]
    _post(ingest_app, org.ingest_key, batch)
    _drain()
    answer = _get(dashboard_app, "/v1/metrics/overview", org.read_key, **{"from": "2026-10-01", "to": "2026-10-10"})
    assert answer.status_code == 200, answer.json
    body = answer.json
    inquiries = _value(body, "inquiries")
    assert (inquiries["value"], inquiries["previous"], inquiries["change"]) == (6, 2, 4)
    assert inquiries["change_ratio"] == pytest.approx(2.0)
    assert _value(body, "revenue_gross", "GBP")["value"] == sum(amounts)
    assert _value(body, "revenue_gross", "EUR")["value"] == 9_999
    assert _value(body, "payments")["value"] == len(amounts) + 1
    assert _value(body, "active_clients")["value"] == 7  # c-0..c-5 and the payments' client-1
    assert body["previous_end"] == body["start"]
    assert datetime.fromisoformat(body["start"]) == datetime(2026, 9, 30, 23, 0, tzinfo=UTC)  # BST midnight


@pytest.mark.parametrize(
    ("tz", "day", "before", "after"),
    [
        ("Asia/Kathmandu", "2026-10-15", "23:59", "00:00"),  # +05:45
        ("America/St_Johns", "2026-10-15", "23:59", "00:00"),  # -02:30 (DST)
        ("America/St_Johns", "2026-12-15", "23:45", "00:14"),  # -03:30
    ],
)
def test_timeseries_puts_events_just_before_and_after_local_midnight_on_their_local_days(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
    tz: str,
    day: str,
    before: str,
    after: str,
) -> None:
    if date.fromisoformat(day) > datetime.now(UTC).date() - timedelta(days=2):
        day = (datetime.now(UTC).date() - timedelta(days=5)).isoformat()
    org = make_org(timezone=tz)
    next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    _post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event("inquiry.received", occurred_at=_at(day, before, tz)),
            factories.make_event("inquiry.received", occurred_at=_at(next_day, after, tz)),
            factories.make_event("inquiry.received", occurred_at=_at(next_day, "12:00", tz)),
        ],
    )
    _drain()
    first = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    last = (date.fromisoformat(day) + timedelta(days=2)).isoformat()
    answer = _get(
        dashboard_app,
        "/v1/metrics/timeseries",
        org.read_key,
        metric="inquiries",
        interval="day",
        **{"from": first, "to": last},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["timezone"] == tz
    points = answer.json["series"][0]["points"]
    assert [p["value"] for p in points] == [0, 1, 2, 0]  # empty days filled with 0
    starts = [datetime.fromisoformat(p["start"]) for p in points]
    assert [s.date().isoformat() for s in starts] == [first, day, next_day, last]
    assert all((s.hour, s.minute) == (0, 0) and s.utcoffset() == s.astimezone(ZoneInfo(tz)).utcoffset() for s in starts)


def test_hourly_series_over_one_local_day_has_24_points_summing_to_the_day(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org(timezone="Asia/Kathmandu")
    hours = ["00:10", "00:50", "13:44", "23:59"]
    _post(
        ingest_app,
        org.ingest_key,
        [factories.make_event("form.started", occurred_at=_at("2026-10-20", h, "Asia/Kathmandu")) for h in hours],
    )
    _drain()
    answer = _get(
        dashboard_app,
        "/v1/metrics/timeseries",
        org.read_key,
        metric="form_starts",
        interval="hour",
        **{"from": "2026-10-20", "to": "2026-10-20"},
    )
    points = answer.json["series"][0]["points"]
    assert len(points) == 24
    by_hour = {datetime.fromisoformat(p["start"]).hour: p["value"] for p in points}
    assert by_hour[0] == 2 and by_hour[13] == 1 and by_hour[23] == 1 and sum(by_hour.values()) == 4


def test_breakdown_splits_a_metric_by_a_dimension_the_registry_allows(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    sources = ["instagram"] * 3 + ["google"] * 2 + ["referral"]
    _post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event(
                "inquiry.received", lead_source=s, occurred_at=_at("2026-10-02", "10:00", "Europe/London")
            )
            for s in sources
        ],
    )
    _drain()
    answer = _get(
        dashboard_app,
        "/v1/metrics/breakdown",
        org.read_key,
        metric="inquiries",
        by="lead_source",
        **{"from": "2026-10-01", "to": "2026-10-31"},
    )
    assert answer.status_code == 200, answer.json
    assert [(r["key"], r["value"]) for r in answer.json["rows"]] == [("instagram", 3), ("google", 2), ("referral", 1)]


def test_revenue_is_per_currency_with_refunds_and_kinds(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    when = _at("2026-10-05", "10:00", "Europe/London")
    _post(
        ingest_app,
        org.ingest_key,
        [
            factories.make_event(
                "payment.succeeded", payment_id="a", amount_minor=50_000, kind="deposit", occurred_at=when
            ),
            factories.make_event(
                "payment.succeeded", payment_id="b", amount_minor=150_000, kind="balance", occurred_at=when
            ),
            factories.make_event("payment.refunded", payment_id="a", amount_minor=10_000, occurred_at=when),
            factories.make_event(
                "payment.succeeded", payment_id="c", amount_minor=7_000, currency="USD", occurred_at=when
            ),
        ],
    )
    _drain()
    answer = _get(dashboard_app, "/v1/revenue", org.read_key, **{"from": "2026-10-01", "to": "2026-10-31"})
    assert answer.status_code == 200, answer.json
    by_currency = {c["currency"]: c for c in answer.json["currencies"]}
    assert set(by_currency) == {"GBP", "USD"}
    gbp = by_currency["GBP"]
    assert (gbp["gross_minor"], gbp["refunds_minor"], gbp["net_minor"], gbp["payments"]) == (
        200_000,
        10_000,
        190_000,
        2,
    )
    assert gbp["by_kind_minor"] == {"balance": 150_000, "deposit": 50_000}
    assert by_currency["USD"]["net_minor"] == 7_000


def test_funnel_follows_clients_from_first_inquiry_to_booking_and_payments(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    day = "2026-10-07"
    batch = [
        factories.make_event("inquiry.received", client_id=f"c{i}", occurred_at=_at(day, "09:00", "Europe/London"))
        for i in range(5)
    ]
    batch += [
        factories.make_event(
            "booking.confirmed",
            client_id=f"c{i}",
            booking_id=f"b{i}",
            occurred_at=_at("2026-10-09", "09:00", "Europe/London"),
        )
        for i in range(2)
    ]
    batch += [
        factories.make_event(
            "payment.succeeded",
            client_id="c0",
            booking_id="b0",
            payment_id="p0",
            kind="deposit",
            occurred_at=_at("2026-10-10", "09:00", "Europe/London"),
        )
    ]
    batch += [
        factories.make_event(
            "booking.cancelled",
            client_id="c1",
            booking_id="b1",
            occurred_at=_at("2026-10-11", "09:00", "Europe/London"),
        )
    ]
    _post(ingest_app, org.ingest_key, batch)
    _drain(views=True)
    answer = _get(dashboard_app, "/v1/funnel", org.read_key, **{"from": "2026-10-01", "to": "2026-10-31"})
    assert answer.status_code == 200, answer.json
    stages = {s["stage"]: s["clients"] for s in answer.json["funnel"]["stages"]}
    assert stages == {"inquiry": 5, "booking": 2, "deposit_paid": 1, "balance_paid": 0}
    assert answer.json["funnel"]["conversion_rate"] == pytest.approx(0.4)
    assert answer.json["funnel"]["median_days_to_book"] == pytest.approx(2.0)
    [gbp] = answer.json["bookings"]
    assert (gbp["bookings"], gbp["cancelled"], gbp["net_bookings"]) == (2, 1, 1)


def test_quality_reports_intake_per_source_rejections_dead_letters_queues_and_freshness(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    good = [factories.make_event("inquiry.received") for _ in range(3)]
    bad = [factories.make_event("payment.succeeded", payment_id=f"x{i}", amount_minor=-5) for i in range(2)]
    _post(ingest_app, org.ingest_key, good + bad + [good[0]])  # one duplicate
    _drain()
    answer = _get(dashboard_app, "/v1/quality", org.read_key)
    assert answer.status_code == 200, answer.json
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json
    [api] = body["totals"]
    assert (api["stored"], api["rejected"], api["duplicates"]) == (3, 2, 1)
    assert sum(p["stored"] for p in body["sources"]) == 3
    assert body["rejection_reasons"] and body["rejection_reasons"][0]["payloads"] == 2
    assert "amount_minor" in body["rejection_reasons"][0]["field"]
    assert body["dead_letters_waiting"] == 2
    assert {q["queue"] for q in body["queues"]} == {"ingest", "aggregate", "refresh"}
    assert all(q["length"] >= 0 for q in body["queues"])
    assert body["freshness"]["newest_event_at"] is not None and body["freshness"]["age_seconds"] is not None
    assert body["checks"] == []


def test_metrics_lists_the_registry(dashboard_app: Any, make_org: Callable[..., Any]) -> None:
    org = make_org()
    answer = _get(dashboard_app, "/v1/metrics", org.read_key)
    assert [m["name"] for m in answer.json["metrics"]] == sorted(registry.REGISTRY)
    nps = next(m for m in answer.json["metrics"] if m["name"] == "nps")
    assert nps["dimensions"] == ["platform"] and nps["unit"] == "score"
    assert answer.json["intervals"]["hour"] == 31


def test_openapi_is_served_and_the_committed_copy_is_current(dashboard_app: Any) -> None:
    served = dashboard_app.get("/v1/openapi.json")
    assert served.status_code == 200 and served.json["openapi"] == "3.1.0"
    assert {
        "/v1/metrics/overview",
        "/v1/metrics/timeseries",
        "/v1/metrics/breakdown",
        "/v1/funnel",
        "/v1/revenue",
        "/v1/quality",
        "/v1/events/live",
        "/v1/metrics",
    } <= set(served.json["paths"])
    committed = (ROOT / "docs/openapi.json").read_text()
    assert committed == openapi.dumps(dashboard_main.openapi_document()), (
        "docs/openapi.json is stale: run python -m shared.dashboard.openapi > docs/openapi.json"
    )


# ----- row-level security -----------------------------------------------------------------------------------


def test_a_query_without_an_organization_filter_still_sees_only_the_callers_rows(
    ingest_app: Any,
    make_org: Callable[..., Any],
) -> None:
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    _post(ingest_app, mine.ingest_key, [factories.make_event("inquiry.received") for _ in range(2)])
    _post(
        ingest_app,
        theirs.ingest_key,
        [factories.make_event("inquiry.received") for _ in range(5)]
        + [factories.make_event("payment.succeeded", amount_minor=-1)],
    )
    _drain(views=True)
    viewer = auth.authenticate(mine.read_key)
    with serving.as_viewer(viewer) as c:
        for table in (
            "analytics_events",
            "analytics_rollups",
            "analytics_active_clients",
            "analytics_source_stats",
            "analytics_dead_letters",
            "organizations",
            "analytics_view_refreshes",
            "analytics_view_freshness",
            "analytics_client_funnel",
            "analytics_booking_facts",
            "analytics_cohorts",
            "analytics_lead_times",
            "analytics_rollups_daily",
            "analytics_client_days",
            "analytics_client_day_firsts",
        ):
            column = "id" if table == "organizations" else "organization_id"
            seen = {r[0] for r in c.execute(f"select distinct {column} from public.{table}").fetchall()}
            assert seen <= {mine.id}, table
        assert c.execute("select count(*) from public.analytics_events").fetchone() == (2,)
        # Even a Python bug that asked for another organization's numbers would get nothing of theirs.
        start, end = datetime.now(UTC) - timedelta(days=2), datetime.now(UTC) + timedelta(hours=1)
        assert c.execute(
            "select count(*) from public.analytics_rollups where organization_id = %s", (theirs.id,)
        ).fetchone() == (0,)
        with pytest.raises(errors.NotFound):
            rollups.totals(c, theirs.id, start, end)
        assert rollups.totals(c, mine.id, start, end).metrics["inquiries"][0].value == 2
        # The funnel and bookings read the organization-filtered views, as the viewer, not as the owner.
        assert funnels.funnel(c, theirs.id, start, end).stages[0].clients == 0
        assert c.execute("select current_user").fetchone() == ("authenticated",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("select count(*) from public.analytics_client_funnel_mv")


# ----- caching ----------------------------------------------------------------------------------------------


def test_an_unchanged_answer_is_a_304_and_a_new_event_changes_the_etag_and_the_numbers(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    _post(ingest_app, org.ingest_key, [factories.make_event("inquiry.received")])
    _drain()
    params = {"metric": "inquiries", "interval": "day"}
    first = _get(dashboard_app, "/v1/metrics/timeseries", org.read_key, **params)
    assert first.status_code == 200 and first.headers["X-Cache"] == "miss"
    assert first.headers["Cache-Control"] == "private, max-age=0, must-revalidate"
    etag = first.headers["ETag"]
    again = _get(dashboard_app, "/v1/metrics/timeseries", org.read_key, **params)
    assert again.headers["X-Cache"] == "memory" and again.data == first.data and again.headers["ETag"] == etag
    not_modified = _get(dashboard_app, "/v1/metrics/timeseries", org.read_key, {"If-None-Match": etag}, **params)
    assert not_modified.status_code == 304 and not_modified.data == b""
    other = _get(
        dashboard_app,
        "/v1/metrics/timeseries",
        org.read_key,
        {"If-None-Match": etag},
        metric="inquiries",
        interval="week",
    )
    assert other.status_code == 200 and other.headers["ETag"] != etag

    _post(ingest_app, org.ingest_key, [factories.make_event("inquiry.received")])
    _drain()
    after = _get(dashboard_app, "/v1/metrics/timeseries", org.read_key, {"If-None-Match": etag}, **params)
    assert after.status_code == 200 and after.headers["X-Cache"] == "miss" and after.headers["ETag"] != etag

    def total(r: Any) -> Any:
        return sum(p["value"] for p in r.json["series"][0]["points"])

    assert (total(first), total(after)) == (1, 2)


def test_the_same_question_from_another_organization_never_gets_the_first_ones_answer(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    a, b = make_org(name="A"), make_org(name="B")
    _post(ingest_app, a.ingest_key, [factories.make_event("inquiry.received") for _ in range(3)])
    _drain()
    ra = _get(dashboard_app, "/v1/metrics/overview", a.read_key)
    rb = _get(dashboard_app, "/v1/metrics/overview", b.read_key, {"If-None-Match": ra.headers["ETag"]})
    assert rb.status_code == 200 and rb.headers["X-Cache"] == "miss"
    assert _value(ra.json, "inquiries")["value"] == 3 and _value(rb.json, "inquiries")["value"] == 0


def test_redis_shares_answers_between_processes(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    settings.clear_cache()
    org = make_org()
    _post(ingest_app, org.ingest_key, [factories.make_event("inquiry.received")])
    _drain()
    first = _get(dashboard_app, "/v1/revenue", org.read_key)
    assert first.headers["X-Cache"] == "miss"
    answercache.cache.clear()  # another instance: nothing in its memory
    second = _get(dashboard_app, "/v1/revenue", org.read_key)
    assert second.headers["X-Cache"] == "redis" and second.data == first.data
    keys = redis.Redis.from_url(redis_url).keys("wsa:dashboard:*")
    assert keys


# ----- authentication ---------------------------------------------------------------------------------------


def test_supabase_user_tokens_with_the_organization_in_either_claim_are_accepted(
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    for where in ("top", "app_metadata"):
        answer = _get(dashboard_app, "/v1/metrics/overview", _token(org.id, where=where))
        assert answer.status_code == 200, answer.json


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("none", 401),
        ("garbage", 401),
        ("unknown_key", 401),
        ("expired", 401),
        ("wrong_audience", 401),
        ("wrong_secret", 401),
        ("no_organization", 403),
        ("ingest_only_key", 403),
    ],
)
def test_bad_credentials_are_refused(dashboard_app: Any, make_org: Callable[..., Any], case: str, status: int) -> None:
    org = make_org()
    token = {
        "none": None,
        "garbage": "not.a.jwt",
        "unknown_key": "wsk_deadbeef_nope",
        "expired": _token(org.id, exp=-60),
        "wrong_audience": _token(org.id, aud="anon"),
        "wrong_secret": _token(org.id, secret="another-secret-of-a-decent-length-987654"),
        "no_organization": _token(org.id, where="nowhere"),
        "ingest_only_key": org.ingest_key,
    }[case]
    answer = _get(dashboard_app, "/v1/metrics/overview", token)
    assert answer.status_code == status, answer.json
    assert answer.json["error"] == ("unauthorized" if status == 401 else "forbidden") and answer.json["message"]


@responses.activate
def test_tokens_signed_with_a_jwks_key_are_verified_with_the_fetched_and_cached_keys(
    dashboard_app: Any,
    make_org: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "https://project.supabase.co/auth/v1/.well-known/jwks.json"
    monkeypatch.setenv("SUPABASE_JWKS_URL", url)
    settings.clear_cache()
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    responses.get(url, json={"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
    org = make_org()
    claims = {"aud": "authenticated", "exp": int(time.time()) + 600, "organization_id": str(org.id)}
    token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})
    for _ in range(3):
        assert _get(dashboard_app, "/v1/metrics/overview", token).status_code == 200
    assert len(responses.calls) == 1  # cached
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"})
    assert _get(dashboard_app, "/v1/metrics/overview", forged).status_code == 401


# ----- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field", "words"),
    [
        ("/v1/metrics/timeseries", {"metric": "bogus"}, "metric", "unknown metric"),
        ("/v1/metrics/timeseries", {}, "metric", "required"),
        ("/v1/metrics/overview", {"from": "2026-13-01"}, "from", "neither a date"),
        ("/v1/metrics/overview", {"to": "yesterday"}, "to", "neither a date"),
        ("/v1/metrics/overview", {"from": "2026-10-10", "to": "2026-10-01"}, "from", "must be before"),
        ("/v1/metrics/overview", {"from": "2026-10-01T10:00:00Z", "to": "2026-10-01T10:00:00Z"}, "from", "before"),
        (
            "/v1/metrics/timeseries",
            {"metric": "inquiries", "interval": "hour", "from": "2026-08-01", "to": "2026-10-01"},
            "interval",
            "at most 31 days",
        ),
        ("/v1/metrics/timeseries", {"metric": "inquiries", "interval": "fortnight"}, "interval", "hour"),
        ("/v1/metrics/breakdown", {"metric": "cancellations", "by": "lead_source"}, "by", "allowed: none"),
        ("/v1/metrics/breakdown", {"metric": "inquiries", "by": "package"}, "by", "lead_source"),
        ("/v1/metrics/overview", {"from": "2000-01-01", "to": "2026-01-01"}, "from", "at most"),
        ("/v1/metrics/overview", {"form": "2026-10-01"}, "form", "unknown query parameter"),
        ("/v1/quality", {"interval": "week"}, "interval", "hour"),
    ],
)
def test_bad_query_parameters_get_a_400_naming_the_field(
    dashboard_app: Any,
    make_org: Callable[..., Any],
    path: str,
    params: dict[str, str],
    field: str,
    words: str,
) -> None:
    org = make_org()
    answer = _get(dashboard_app, path, org.read_key, **params)
    assert answer.status_code == 400, answer.json
    assert answer.json["error"] == "invalid_query"
    matching = [f for f in answer.json["fields"] if f["loc"] == [field]]
    assert matching and words in matching[0]["msg"], answer.json


def test_a_parameter_given_twice_is_refused(dashboard_app: Any, make_org: Callable[..., Any]) -> None:
    org = make_org()
    answer = dashboard_app.get(
        "/v1/metrics/overview?from=2026-10-01&from=2026-10-02", headers={"Authorization": f"Bearer {org.read_key}"}
    )
    assert answer.status_code == 400 and answer.json["fields"][0]["loc"] == ["from"]


def test_windows_default_to_the_last_30_local_days_and_dates_are_inclusive() -> None:
    tz = ZoneInfo("Asia/Kathmandu")
    now = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # 2026-11-26 01:45 in Kathmandu
    span = questions.resolve(questions.OverviewQuery(), tz, now=now)
    assert span.end == datetime(2026, 11, 26, 18, 15, tzinfo=UTC)  # midnight after 2026-11-26, local
    assert span.start == datetime(2026, 10, 27, 18, 15, tzinfo=UTC)  # 30 local days
    one = questions.resolve(questions.OverviewQuery.model_validate({"from": "2026-11-01", "to": "2026-11-01"}), tz)
    assert one.end - one.start == timedelta(days=1) and one.previous_end == one.start
    naive = questions.OverviewQuery.model_validate({"from": "2026-11-01T09:00", "to": "2026-11-01T10:00:00+00:00"})
    span = questions.resolve(naive, tz)
    assert span.start == datetime(2026, 11, 1, 3, 15, tzinfo=UTC)  # naive date-times are local


def test_browsers_on_another_origin_may_call_the_api(dashboard_app: Any, make_org: Callable[..., Any]) -> None:
    org = make_org()
    preflight = dashboard_app.options(
        "/v1/metrics/overview",
        headers={
            "Origin": "https://app.wedsync.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    answer = _get(dashboard_app, "/v1/metrics/overview", org.read_key, {"Origin": "https://app.wedsync.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in answer.headers["Access-Control-Expose-Headers"]


# ----- live stream --------------------------------------------------------------------------------------------


def _live_settings(monkeypatch: pytest.MonkeyPatch, max_seconds: str, heartbeat_seconds: str) -> None:
    monkeypatch.setenv("DASHBOARD_LIVE_MAX_SECONDS", max_seconds)
    monkeypatch.setenv("DASHBOARD_LIVE_HEARTBEAT_SECONDS", heartbeat_seconds)
    monkeypatch.setenv("DASHBOARD_LIVE_POLL_MS", "20")
    settings.clear_cache()


def _changes(text: str) -> list[Any]:
    return [json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith('data: {"org')]


def test_the_live_stream_forwards_only_the_callers_change_notices_and_ends(
    dashboard_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _live_settings(monkeypatch, max_seconds="1.5", heartbeat_seconds="0.3")
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    answer = dashboard_app.get("/v1/events/live", headers={"Authorization": f"Bearer {mine.read_key}"}, buffered=False)
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    chunks = iter(answer.response)
    opening = next(chunks).decode()  # the stream is open: the version it started from is read
    for org, version in ((theirs, 7), (mine, 3)):  # what aggregate does to data_version, in the same database
        conn.execute("update organizations set data_version = %s where id = %s", (version, org.id))
    text = opening + b"".join(chunks).decode()
    answer.close()
    assert _changes(text) == [{"organization_id": str(mine.id), "data_version": 3}]
    assert "event: change\nid: 3\n" in text
    assert ": heartbeat" in text and "event: end" in text
    assert _get(dashboard_app, "/v1/events/live", None).status_code == 401


def test_a_reconnecting_live_stream_reports_a_change_made_while_it_was_away(
    dashboard_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _live_settings(monkeypatch, max_seconds="0.2", heartbeat_seconds="15")
    org = make_org()
    conn.execute("update organizations set data_version = 5 where id = %s", (org.id,))
    again = _get(dashboard_app, "/v1/events/live", org.read_key, {"Last-Event-ID": "4"}).get_data(as_text=True)
    assert _changes(again) == [{"organization_id": str(org.id), "data_version": 5}]
    fresh = _get(dashboard_app, "/v1/events/live", org.read_key).get_data(as_text=True)
    assert _changes(fresh) == [] and "event: end" in fresh  # a new stream starts from the current version
    unknown = _get(dashboard_app, "/v1/events/live", _token("00000000-0000-4000-8000-00000000dead"))
    assert unknown.status_code == 403  # refused before the stream starts, not an empty stream
