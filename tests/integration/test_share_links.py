"""Share links end to end: created with the CLI or the admin API, read through the dashboard as a read-only
viewer of one organization, refused once expired or revoked, and kept to their panels."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.aggregate import aggregation
from shared.core import apikeys, db, settings
from shared.dashboard import answercache, sharelinks
from shared.tools import cli
from shared.validate import validation
from tests import factories


@pytest.fixture(autouse=True)
def _fresh(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("DASHBOARD_PUBLIC_URL", "https://dash.example.test/")
    settings.clear_cache()
    answercache.cache.clear()
    apikeys.cache.clear()


def _fill(ingest_app: Any, org: Any, inquiries: int) -> None:
    batch = [factories.make_event("inquiry.received", client_id=f"c-{i}") for i in range(inquiries)]
    answer = ingest_app.post(
        "/v1/events",
        data=json.dumps({"events": batch}),
        headers={"Authorization": f"Bearer {org.ingest_key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.json
    assert not validation.drain(db.transaction)[1]
    assert not aggregation.drain(db.transaction)[1]


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def _create(capsys: pytest.CaptureFixture[str], org: Any, *extra: str) -> dict[str, Any]:
    code, out = _cli(capsys, "share", "create", "--org", str(org.id), "--json", *extra)
    assert code == 0
    created: dict[str, Any] = json.loads(out)
    return created


def _admin_key(org: Any) -> str:
    with db.transaction() as conn:
        return apikeys.create(conn, org.id, ["admin"], name="admin").key


def test_a_link_made_with_the_cli_reads_its_organizations_overview_and_never_another_ones(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    _fill(ingest_app, mine, 2)
    _fill(ingest_app, theirs, 5)
    link = _create(capsys, mine, "--label", "accountant", "--expires-in", "7d")
    assert link["url"] == f"https://dash.example.test/?share={link['token']}"
    assert link["panels"] is None and link["label"] == "accountant"

    by_key = dashboard_app.get("/v1/metrics/overview", headers={"Authorization": f"Bearer {mine.read_key}"})
    theirs_by_key = dashboard_app.get("/v1/metrics/overview", headers={"Authorization": f"Bearer {theirs.read_key}"})
    by_query = dashboard_app.get(link["api_url"].removeprefix("https://dash.example.test"))
    by_bearer = dashboard_app.get("/v1/metrics/overview", headers={"Authorization": f"Bearer {link['token']}"})
    assert by_query.status_code == by_bearer.status_code == 200, by_query.json
    assert by_query.json == by_bearer.json == by_key.json != theirs_by_key.json
    assert dashboard_app.get(f"/v1/funnel?share={link['token']}").status_code == 200
    # Read-only: the admin routes take admin keys only, never a share token.
    refused = dashboard_app.get("/v1/share-links", headers={"Authorization": f"Bearer {link['token']}"})
    assert refused.status_code == 401


def test_an_expired_a_revoked_and_a_forged_link_are_refused_with_the_reason(
    dashboard_app: Any, make_org: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    org = make_org()
    expired, revoked, live = (_create(capsys, org) for _ in range(3))
    with db.transaction() as conn:
        conn.execute(
            "update public.analytics_share_links set created_at = now() - interval '2 days',"
            " expires_at = now() - interval '1 day' where id = %s",
            (expired["id"],),
        )
    answer = dashboard_app.get(f"/v1/metrics/overview?share={expired['token']}")
    assert answer.status_code == 401 and "expired" in answer.json["message"]

    code, out = _cli(capsys, "share", "revoke", revoked["id"])
    assert code == 0 and revoked["id"] in out
    answer = dashboard_app.get(f"/v1/metrics/overview?share={revoked['token']}")
    assert answer.status_code == 401 and "revoked" in answer.json["message"]
    assert _cli(capsys, "share", "revoke", revoked["id"])[0] == 1

    # A token whose expiry was moved later no longer matches its signature.
    link_id, expires, signature = live["token"].removeprefix("wss_").split(".")
    forged = f"wss_{link_id}.{int(expires) + 86_400}.{signature}"
    answer = dashboard_app.get(f"/v1/metrics/overview?share={forged}")
    assert answer.status_code == 401 and "signature" in answer.json["message"]
    # The expiry inside the token holds even where the row would still allow it.
    past = sharelinks.token(live["id"], datetime.now(UTC) - timedelta(minutes=1))
    assert dashboard_app.get(f"/v1/metrics/overview?share={past}").status_code == 401
    assert dashboard_app.get(f"/v1/metrics/overview?share={live['token']}").status_code == 200


def test_a_link_limited_to_some_panels_is_refused_outside_them_naming_the_panel(
    dashboard_app: Any, make_org: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    org = make_org()
    link = _create(capsys, org, "--panels", "revenue,reports")
    assert link["panels"] == ["revenue", "reports"]
    share = link["token"]
    assert dashboard_app.get(f"/v1/revenue?share={share}").status_code == 200
    assert dashboard_app.get(f"/v1/reports?share={share}").status_code == 200
    assert dashboard_app.get(f"/v1/metrics?share={share}").status_code == 200
    for path, panel in (("/v1/metrics/overview", "overview"), ("/v1/funnel", "funnel"), ("/v1/quality", "quality")):
        answer = dashboard_app.get(f"{path}?share={share}")
        assert answer.status_code == 403 and f"'{panel}'" in answer.json["message"], answer.json


def test_admins_create_list_and_revoke_links_through_the_api_within_their_organization(
    dashboard_app: Any, make_org: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    admin, their_admin = _admin_key(mine), _admin_key(theirs)
    headers = {"Authorization": f"Bearer {admin}"}
    created = dashboard_app.post(
        "/v1/share-links", json={"label": "partner", "expires_in": "12h", "panels": ["overview"]}, headers=headers
    )
    assert created.status_code == 201, created.json
    link = created.json
    assert link["panels"] == ["overview"] and link["created_by"].startswith("api-key:")
    assert dashboard_app.get(f"/v1/metrics/overview?share={link['token']}").status_code == 200

    bad = dashboard_app.post("/v1/share-links", json={"panels": ["salaries"], "expires_in": "soon"}, headers=headers)
    assert bad.status_code == 400 and {tuple(f["loc"]) for f in bad.json["fields"]} == {("panels",), ("expires_in",)}
    assert (
        dashboard_app.post("/v1/share-links", json={}, headers={"Authorization": f"Bearer {mine.read_key}"}).status_code
        == 403
    )

    listed = dashboard_app.get("/v1/share-links", headers=headers)
    assert [x["id"] for x in listed.json["share_links"]] == [link["id"]]
    assert "token" not in listed.json["share_links"][0]
    assert dashboard_app.get("/v1/share-links", headers={"Authorization": f"Bearer {their_admin}"}).json == {
        "share_links": []
    }
    code, out = _cli(capsys, "share", "list", "--org", str(mine.id), "--json")
    assert code == 0 and [x["id"] for x in json.loads(out)] == [link["id"]]

    # Another organization's admin cannot revoke it; its own admin can, once.
    other = dashboard_app.delete(f"/v1/share-links/{link['id']}", headers={"Authorization": f"Bearer {their_admin}"})
    assert other.status_code == 404
    revoked = dashboard_app.delete(f"/v1/share-links/{link['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.json["revoked_at"] is not None
    assert dashboard_app.delete(f"/v1/share-links/{link['id']}", headers=headers).status_code == 404
    answer = dashboard_app.get(f"/v1/metrics/overview?share={link['token']}")
    assert answer.status_code == 401 and "revoked" in answer.json["message"]
