"""Business alerts delivered like the data-quality ones: through the monitor's run, once per incident and once on
its resolution, to the organization's own recipients only; a mute (CLI or admin API) silences an organization
entirely; thresholds and mutes are set per organization by its admins."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import responses

from shared.core import apikeys, db, settings
from shared.monitor import alerts, quality
from shared.tools import cli
from tests import business_history as gen

HOOK = "https://hooks.example.com/studio"
OTHER_HOOK = "https://hooks.example.com/other"


@pytest.fixture(autouse=True)
def _fresh(database_url: str) -> None:
    settings.clear_cache()
    apikeys.cache.clear()


def _run() -> dict[str, int]:
    return alerts.process(db.transaction, quality.run(db.transaction))


def _business_calls(url: str) -> list[dict[str, Any]]:
    return [
        json.loads(c.request.body or b"")
        for c in responses.calls
        if c.request.url == url and c.request.headers["X-WedSync-Event"].startswith("business.incident.")
    ]


def _owing(conn: psycopg.Connection[Any], org: Any, *, paid: int) -> None:
    """A booking of 500000 GBP whose wedding is 10 days away, of which `paid` was paid."""
    now = datetime.now(UTC)
    history = gen.History(org.id)
    wedding = (now + timedelta(days=10)).date().isoformat()
    history.add(
        "booking.confirmed",
        now - timedelta(days=90),
        booking_id="B1",
        package="full-day",
        value_minor=500000,
        currency="GBP",
        wedding_date=wedding,
    )
    history.add("payment.succeeded", now - timedelta(days=40), booking_id="B1", amount_minor=paid, currency="GBP")
    gen.store(conn, history)


def _pay(conn: psycopg.Connection[Any], org: Any, amount: int) -> None:
    history = gen.History(org.id)
    history.add(
        "payment.succeeded", datetime.now(UTC) - timedelta(days=2), booking_id="B1", amount_minor=amount, currency="GBP"
    )
    gen.store(conn, history)


@responses.activate
def test_a_business_alert_is_sent_once_per_incident_and_once_when_it_resolves(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    responses.add(responses.POST, HOOK, status=200)
    responses.add(responses.POST, OTHER_HOOK, status=200)
    studio = make_org(name="Studio", alerts={"webhook_url": HOOK})
    other = make_org(name="Other", alerts={"webhook_url": OTHER_HOOK})
    _owing(conn, studio, paid=200000)
    _owing(conn, other, paid=500000)
    for _ in range(3):
        _run()
    sent = _business_calls(HOOK)
    assert [(b["state"], b["check"], b["subject"], b["value"]) for b in sent] == [
        ("opened", "business.balance_overdue", "B1", 300000.0)
    ]
    assert _business_calls(OTHER_HOOK) == []  # its booking is paid: its data, its verdict

    _pay(conn, studio, 300000)
    _run()
    _run()
    assert [b["state"] for b in _business_calls(HOOK)] == ["opened", "resolved"]
    assert _business_calls(OTHER_HOOK) == []


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


@responses.activate
def test_a_muted_organization_gets_nothing_even_after_unmuting_for_the_incident_opened_while_muted(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    responses.add(responses.POST, HOOK, status=200)
    responses.add(responses.POST, OTHER_HOOK, status=200)
    muted = make_org(name="Muted", alerts={"webhook_url": HOOK})
    loud = make_org(name="Loud", alerts={"webhook_url": OTHER_HOOK})
    code, out = _cli(capsys, "alerts", "mute", "--org", str(muted.id), "--for", "3d")
    assert code == 0 and "business.balance_overdue" in out
    for org in (muted, loud):
        _owing(conn, org, paid=0)
    _run()
    _run()
    assert _business_calls(HOOK) == []
    assert [b["state"] for b in _business_calls(OTHER_HOOK)] == ["opened"]
    recorded = conn.execute(
        "select count(*) as n from analytics_quality_incidents where organization_id = %s and check_name = %s "
        "and resolved_at is null and opened_notified_at is not null",
        (muted.id, "business.balance_overdue"),
    ).fetchone()
    assert recorded is not None and recorded[0] == 1  # recorded, marked handled, not sent

    assert _cli(capsys, "alerts", "unmute", "--org", str(muted.id))[0] == 0
    _run()
    assert _business_calls(HOOK) == []  # once per incident: the muted one is not sent late
    code, out = _cli(capsys, "alerts", "show", "--org", str(muted.id), "--json")
    assert code == 0 and not any(rule["muted"] for rule in json.loads(out))


def _admin_key(org: Any, scopes: list[apikeys.Scope] | None = None) -> str:
    with db.transaction() as conn:
        return apikeys.create(conn, org.id, scopes or ["admin"], name="admin").key


def test_admins_set_thresholds_and_mutes_of_their_own_organization_over_the_api(
    dashboard_app: Any, monitor_app: Any, make_org: Callable[..., Any]
) -> None:
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    key, their_key = _admin_key(mine), _admin_key(theirs)

    def post(alert: str, body: Any, token: str = key) -> Any:
        return dashboard_app.post(
            f"/v1/alerts/{alert}", data=json.dumps(body), content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip

    listed = dashboard_app.get("/v1/alerts", headers={"Authorization": f"Bearer {key}"})
    assert listed.status_code == 200
    assert [r["alert"] for r in listed.json["rules"]] == [
        "business.inquiries", "business.payment_failures", "business.reviews", "business.balance_overdue"
    ]  # fmt: skip
    changed = post("inquiries", {"thresholds": {"p_value": 0.001}, "mute_for": "2d"})
    assert changed.status_code == 200, changed.json
    rule = changed.json["rules"][0]
    assert rule["custom"] == {"p_value": 0.001} and rule["thresholds"]["drop_ratio"] == 0.6 and rule["muted"]

    bad = post("inquiries", {"thresholds": {"p_value": 3, "colour": "red"}})
    assert bad.status_code == 400
    assert {tuple(f["loc"]) for f in bad.json["fields"]} == {("p_value",), ("colour",)}
    assert post("weather", {"unmute": True}).status_code == 404
    assert post("inquiries", {"mute_for": "forever"}).status_code == 400
    reader = _admin_key(mine, ["read"])
    assert post("inquiries", {"unmute": True}, reader).status_code == 403
    assert (
        dashboard_app.post("/v1/alerts/inquiries", data="{}", headers={"Authorization": f"Bearer {key}"}).status_code
        == 415
    )

    their_rules = dashboard_app.get("/v1/alerts", headers={"Authorization": f"Bearer {their_key}"}).json["rules"]
    assert all(r["custom"] == {} and not r["muted"] for r in their_rules)  # one organization's rules stay its own
    assert post("inquiries", {"unmute": True}).json["rules"][0]["muted"] is False
    on_monitor = monitor_app.get("/v1/alerts", headers={"Authorization": f"Bearer {key}"})  # monitor-api serves it too
    assert on_monitor.status_code == 200 and on_monitor.json["rules"][0]["custom"] == {"p_value": 0.001}
