"""Who sees what and how answers are cached: row-level security, ETags and 304s, Redis, user tokens and keys,
bad parameters and origins."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jwt
import psycopg
import pytest
import redis
import responses
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.core import errors, settings
from shared.dashboard import answercache, auth, questions, serving
from shared.metrics import funnels, rollups
from tests import factories
from tests.integration.dashboard import support


def test_a_query_without_an_organization_filter_still_sees_only_the_callers_rows(
    ingest_app: Any,
    make_org: Callable[..., Any],
) -> None:
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    support.post(ingest_app, mine.ingest_key, [factories.make_event("inquiry.received") for _ in range(2)])
    support.post(
        ingest_app,
        theirs.ingest_key,
        [factories.make_event("inquiry.received") for _ in range(5)]
        + [factories.make_event("payment.succeeded", amount_minor=-1)],
    )
    support.drain(views=True)
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


def test_an_unchanged_answer_is_a_304_and_a_new_event_changes_the_etag_and_the_numbers(
    ingest_app: Any,
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    support.post(ingest_app, org.ingest_key, [factories.make_event("inquiry.received")])
    support.drain()
    params = {"metric": "inquiries", "interval": "day"}
    first = support.get(dashboard_app, "/v1/metrics/timeseries", org.read_key, **params)
    assert first.status_code == 200 and first.headers["X-Cache"] == "miss"
    assert first.headers["Cache-Control"] == "private, max-age=0, must-revalidate"
    etag = first.headers["ETag"]
    again = support.get(dashboard_app, "/v1/metrics/timeseries", org.read_key, **params)
    assert again.headers["X-Cache"] == "memory" and again.data == first.data and again.headers["ETag"] == etag
    not_modified = support.get(dashboard_app, "/v1/metrics/timeseries", org.read_key, {"If-None-Match": etag}, **params)
    assert not_modified.status_code == 304 and not_modified.data == b""
    other = support.get(
        dashboard_app,
        "/v1/metrics/timeseries",
        org.read_key,
        {"If-None-Match": etag},
        metric="inquiries",
        interval="week",
    )
    assert other.status_code == 200 and other.headers["ETag"] != etag

    support.post(ingest_app, org.ingest_key, [factories.make_event("inquiry.received")])
    support.drain()
    after = support.get(dashboard_app, "/v1/metrics/timeseries", org.read_key, {"If-None-Match": etag}, **params)
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
    support.post(ingest_app, a.ingest_key, [factories.make_event("inquiry.received") for _ in range(3)])
    support.drain()
    ra = support.get(dashboard_app, "/v1/metrics/overview", a.read_key)
    rb = support.get(dashboard_app, "/v1/metrics/overview", b.read_key, {"If-None-Match": ra.headers["ETag"]})
    assert rb.status_code == 200 and rb.headers["X-Cache"] == "miss"
    assert support.value(ra.json, "inquiries")["value"] == 3 and support.value(rb.json, "inquiries")["value"] == 0


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
    support.post(ingest_app, org.ingest_key, [factories.make_event("inquiry.received")])
    support.drain()
    first = support.get(dashboard_app, "/v1/revenue", org.read_key)
    assert first.headers["X-Cache"] == "miss"
    answercache.cache.clear()  # another instance: nothing in its memory
    second = support.get(dashboard_app, "/v1/revenue", org.read_key)
    assert second.headers["X-Cache"] == "redis" and second.data == first.data
    keys = redis.Redis.from_url(redis_url).keys("wsa:dashboard:*")
    assert keys


def test_supabase_user_tokens_with_the_organization_in_either_claim_are_accepted(
    dashboard_app: Any,
    make_org: Callable[..., Any],
) -> None:
    org = make_org()
    for where in ("top", "app_metadata"):
        answer = support.get(dashboard_app, "/v1/metrics/overview", support.token(org.id, where=where))
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
        "expired": support.token(org.id, exp=-60),
        "wrong_audience": support.token(org.id, aud="anon"),
        "wrong_secret": support.token(org.id, secret="another-secret-of-a-decent-length-987654"),
        "no_organization": support.token(org.id, where="nowhere"),
        "ingest_only_key": org.ingest_key,
    }[case]
    answer = support.get(dashboard_app, "/v1/metrics/overview", token)
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
        assert support.get(dashboard_app, "/v1/metrics/overview", token).status_code == 200
    assert len(responses.calls) == 1  # cached
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"})
    assert support.get(dashboard_app, "/v1/metrics/overview", forged).status_code == 401


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
    answer = support.get(dashboard_app, path, org.read_key, **params)
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
    answer = support.get(dashboard_app, "/v1/metrics/overview", org.read_key, {"Origin": "https://app.wedsync.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
