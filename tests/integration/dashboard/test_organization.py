"""GET /v1/organization: the calendar the web page computes its periods in, and what the credential opens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.core import apikeys, db
from shared.dashboard import sharelinks
from tests.integration.dashboard.support import get, token


def test_the_organization_answer_gives_its_zone_local_today_week_start_and_currency(
    dashboard_app: Any, make_org: Callable[..., Any]
) -> None:
    org = make_org(timezone="Pacific/Kiritimati", currency="JPY", reports={"week_start": "sunday"})
    answer = get(dashboard_app, "/v1/organization", org.read_key)
    assert answer.status_code == 200, answer.json
    body = answer.json
    today = datetime.now(UTC).astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    assert body["timezone"] == "Pacific/Kiritimati" and body["currency"] == "JPY"
    assert body["today"] in {today.isoformat(), (today + timedelta(days=1)).isoformat()}  # midnight may pass
    assert body["week_start"] == "sunday"
    assert body["signed_in_as"] == "api_key" and body["admin"] is False
    assert body["panels"] == list(sharelinks.PANELS)
    assert answer.headers["Cache-Control"] == "no-store"


def test_an_admin_key_and_a_user_token_are_told_apart(dashboard_app: Any, make_org: Callable[..., Any]) -> None:
    org = make_org()
    with db.transaction() as conn:
        admin = apikeys.create(conn, org.id, ["read", "admin"], name="owner").key
    assert get(dashboard_app, "/v1/organization", admin).json["admin"] is True
    as_user = get(dashboard_app, "/v1/organization", token(org.id)).json
    assert as_user["signed_in_as"] == "jwt" and as_user["admin"] is False
    assert as_user["week_start"] == "monday"


def test_a_share_link_limited_to_panels_reads_the_calendar_and_learns_its_panels(
    dashboard_app: Any, make_org: Callable[..., Any]
) -> None:
    org = make_org()
    with db.transaction() as conn:
        link = sharelinks.create(conn, org.id, panels=["revenue", "overview"])
    body = get(dashboard_app, "/v1/organization", link.token).json
    assert body["signed_in_as"] == "share_link" and body["panels"] == ["overview", "revenue"]
    refused = get(dashboard_app, "/v1/funnel", link.token)
    assert refused.status_code == 403 and "'funnel'" in refused.json["message"]
