"""The dashboard at its edges: dates at the ends of the calendar, tokens the project cannot or must not honour,
and weeks that start on the organization's own day, as its weekly reports do."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared import report as reports
from shared.aggregate import aggregation
from shared.core import apikeys, db, settings
from shared.dashboard import answercache, auth
from shared.refresh import views as refresh
from shared.report import periods
from shared.validate import validation
from tests import factories

SECRET = "test-jwt-secret-of-a-decent-length-0123456789"


@pytest.fixture(autouse=True)
def _fresh(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("SUPABASE_JWT_SECRET", SECRET)
    monkeypatch.setenv("REPORTS_LOCAL_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings.clear_cache()
    answercache.cache.clear()
    apikeys.cache.clear()
    auth.jwks.clear()


def _get(app: Any, path: str, token: str | None, **params: str) -> Any:
    return app.get(path, query_string=params, headers={"Authorization": f"Bearer {token}"} if token else {})


def _claims(org_id: Any) -> dict[str, Any]:
    return {"sub": "user-1", "aud": "authenticated", "exp": int(time.time()) + 600, "organization_id": str(org_id)}


# ----- dates --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/metrics/overview", {"from": "0001-01-01"}, "from"),
        ("/v1/metrics/overview", {"to": "9999-12-31"}, "to"),
        ("/v1/metrics/overview", {"from": "0001-01-01", "to": "9999-12-31"}, "from"),
        ("/v1/metrics/overview", {"from": "0001-01-01T00:00:00+14:00"}, "from"),
        ("/v1/metrics/overview", {"to": "9999-12-31T23:59:59-12:00"}, "to"),
        ("/v1/metrics/timeseries", {"metric": "inquiries", "interval": "week", "to": "9999-12-31"}, "to"),
        ("/v1/revenue", {"from": "1999-12-31", "to": "2000-01-10"}, "from"),
        ("/v1/funnel", {"from": "2100-12-01", "to": "2101-01-01"}, "to"),
        ("/v1/reports", {"before": "0001-01-01"}, "before"),
    ],
)
def test_dates_outside_the_documented_range_are_a_400_naming_the_field(
    dashboard_app: Any, make_org: Callable[..., Any], path: str, params: dict[str, str], field: str
) -> None:
    org = make_org()
    answer = _get(dashboard_app, path, org.read_key, **params)
    assert answer.status_code == 400, answer.json
    named = [f for f in answer.json["fields"] if f["loc"] == [field]]
    assert named and "2000-01-01 to 2100-12-31" in named[0]["msg"], answer.json


def test_the_ends_of_the_range_themselves_are_answered(dashboard_app: Any, make_org: Callable[..., Any]) -> None:
    org = make_org(timezone="Pacific/Kiritimati")
    for params in ({"from": "2000-01-01", "to": "2000-01-31"}, {"from": "2100-12-01", "to": "2100-12-31"}):
        assert _get(dashboard_app, "/v1/metrics/overview", org.read_key, **params).status_code == 200
    weekly = {"metric": "active_clients", "interval": "week", "from": "2091-01-01", "to": "2100-12-31"}
    assert _get(dashboard_app, "/v1/metrics/timeseries", org.read_key, **weekly).status_code == 200


@pytest.mark.parametrize(
    ("method", "query", "body", "field"),
    [
        ("GET", "source=a%00b", None, ["source"]),
        ("POST", "", {"reason": "\ud800"}, ["reason"]),
        ("GET", "since=0001-01-01T00:00:00%2B14:00", None, ["since"]),
        ("POST", "", {"ids": [2**70]}, ["ids", 0]),
        ("POST", "", {"until": "9999-12-31T23:59:59-12:00"}, ["until"]),
        ("POST", "", {"source": "\u0000"}, ["source"]),
    ],
)
def test_dead_letter_filters_the_database_cannot_hold_are_a_400_naming_the_field(
    dashboard_app: Any, make_org: Callable[..., Any], method: str, query: str, body: Any, field: list[Any]
) -> None:
    org = make_org()
    with db.transaction() as c:
        admin = apikeys.create(c, org.id, ["admin"], name="admin").key
    headers = {"Authorization": f"Bearer {admin}"}
    if method == "GET":
        answer = dashboard_app.get(f"/v1/dead-letters?{query}", headers=headers)
    else:
        answer = dashboard_app.post("/v1/dead-letters/replay", json=body, headers=headers)
    assert answer.status_code == 400, answer.json
    assert [f["loc"] for f in answer.json["fields"]] == [field], answer.json


# ----- tokens -------------------------------------------------------------------------------------------------


@responses.activate
def test_a_token_whose_algorithm_does_not_fit_the_projects_key_is_a_401(
    dashboard_app: Any, make_org: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://project.supabase.co/auth/v1/.well-known/jwks.json"
    monkeypatch.setenv("SUPABASE_JWKS_URL", url)
    settings.clear_cache()
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    responses.get(url, json={"keys": [{**jwk, "kid": "k1", "use": "sig"}]})
    org = make_org()
    elliptic = ec.generate_private_key(ec.SECP256R1())
    for alg, token in (
        ("ES256", jwt.encode(_claims(org.id), elliptic, algorithm="ES256", headers={"kid": "k1"})),
        ("ES256", jwt.encode(_claims(org.id), elliptic, algorithm="ES256")),
        ("HS512", jwt.encode(_claims(org.id), "x" * 64, algorithm="HS512", headers={"kid": "k1"})),
    ):
        answer = _get(dashboard_app, "/v1/metrics/overview", token)
        assert answer.status_code == 401, answer.json
        assert answer.json["error"] == "unauthorized" and repr(alg) in answer.json["message"], answer.json


@pytest.mark.parametrize("role", ["anon", "service_role", "postgres"])
def test_a_signed_token_for_another_role_than_authenticated_is_refused(
    dashboard_app: Any, make_org: Callable[..., Any], role: str
) -> None:
    org = make_org()
    token = jwt.encode({**_claims(org.id), "role": role}, SECRET, algorithm="HS256")
    answer = _get(dashboard_app, "/v1/metrics/overview", token)
    assert answer.status_code == 403, answer.json
    assert answer.json["error"] == "forbidden" and repr(role) in answer.json["message"]
    user = jwt.encode({**_claims(org.id), "role": "authenticated"}, SECRET, algorithm="HS256")
    assert _get(dashboard_app, "/v1/metrics/overview", user).status_code == 200


# ----- weeks --------------------------------------------------------------------------------------------------


def test_weekly_buckets_of_a_sunday_start_organization_are_its_weekly_report_periods(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any]
) -> None:
    tz = "America/New_York"
    org = make_org(timezone=tz, reports={"week_start": "sunday"})
    local = ZoneInfo(tz)
    moments = [  # (local time, client): Saturday night and Sunday morning fall in different Sunday weeks
        (datetime(2026, 11, 7, 23, 30, tzinfo=local), "c1"),
        (datetime(2026, 11, 8, 0, 30, tzinfo=local), "c2"),
        (datetime(2026, 11, 14, 12, 0, tzinfo=local), "c2"),
        (datetime(2026, 11, 15, 10, 0, tzinfo=local), "c3"),
    ]
    batch = [factories.make_event(occurred_at=t.astimezone(UTC), client_id=c) for t, c in moments]
    posted = ingest_app.post(
        "/v1/events",
        data=json.dumps({"events": batch}),
        headers={"Authorization": f"Bearer {org.ingest_key}"},
        content_type="application/json",
    )
    assert posted.status_code == 202, posted.json
    assert not validation.drain(db.transaction)[1] and not aggregation.drain(db.transaction)[1]
    refresh.run(db.transaction, force=True)

    series = {}
    for metric in ("inquiries", "active_clients"):
        answer = _get(
            dashboard_app,
            "/v1/metrics/timeseries",
            org.read_key,
            metric=metric,
            interval="week",
            **{"from": "2026-11-01", "to": "2026-11-21"},
        )
        assert answer.status_code == 200, answer.json
        assert answer.json["week_start"] == "sunday"
        series[metric] = {
            datetime.fromisoformat(p["start"]).date(): p["value"] for p in answer.json["series"][0]["points"]
        }
    sundays = [date(2026, 11, 1), date(2026, 11, 8), date(2026, 11, 15)]
    assert list(series["inquiries"]) == sundays == [periods.week_of(d, "sunday").start for d in sundays]
    assert list(series["inquiries"].values()) == [1, 2, 1]
    assert list(series["active_clients"].values()) == [1, 1, 1]

    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    for start in sundays:
        record = reports.generate(db.transaction, org.id, "weekly", start, deliver=False, now=now)
        assert (record.period_start, record.period_end) == (start, start + timedelta(days=7))
        headline = {h["key"]: h["value"] for h in record.summary["headline"]}
        assert headline["inquiries"] == series["inquiries"][start]


def test_an_organization_without_the_setting_has_monday_weeks(dashboard_app: Any, make_org: Callable[..., Any]) -> None:
    org = make_org()
    params = {"metric": "inquiries", "interval": "week", "from": "2026-11-01", "to": "2026-11-21"}
    answer = _get(dashboard_app, "/v1/metrics/timeseries", org.read_key, **params)
    assert answer.status_code == 200 and answer.json["week_start"] == "monday"
    starts = [datetime.fromisoformat(p["start"]).date() for p in answer.json["series"][0]["points"]]
    assert starts == [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
