"""The dashboard's report endpoints and the quality checks in /v1/quality: what other stages write, read
through the dashboard under the caller's row-level security."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared import report as report_api
from shared.core import db, settings
from shared.monitor import quality
from shared.validate import validation
from tests import factories

NOW = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)
WEEK = date(2026, 11, 9)


@pytest.fixture
def local_reports(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    monkeypatch.setenv("REPORTS_LOCAL_DIR", str(tmp_path / "reports"))
    settings.clear_cache()
    yield
    settings.clear_cache()


def _report_for(ingest_app: Any, org: Any) -> Any:
    events = [factories.make_event("inquiry.received", occurred_at=f"2026-11-1{d}T10:00:00+00:00") for d in (0, 1)]
    answer = ingest_app.post(
        "/v1/events", json={"events": events}, headers={"Authorization": f"Bearer {org.ingest_key}"}
    )
    assert answer.status_code == 202 and answer.json["accepted"] == 2
    validation.drain(db.transaction)
    from shared.aggregate import aggregation

    aggregation.drain(db.transaction)
    return report_api.generate(db.transaction, org.id, "weekly", WEEK, deliver=False, now=NOW)


def test_reports_are_listed_and_downloaded_by_their_organization_only(
    local_reports: None, ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any]
) -> None:
    org, other = make_org(), make_org(name="Other Studio")
    record = _report_for(ingest_app, org)
    auth = {"Authorization": f"Bearer {org.read_key}"}
    listed = dashboard_app.get("/v1/reports", headers=auth)
    assert listed.status_code == 200 and listed.headers["Cache-Control"] == "no-store"
    assert [r["id"] for r in listed.json["reports"]] == [str(record.id)]
    assert listed.json["reports"][0]["period_start"] == "2026-11-09"
    detail = dashboard_app.get(f"/v1/reports/{record.id}", headers=auth)
    assert detail.status_code == 200 and set(detail.json["files"]) == {"csv", "html", "pdf"}
    pdf = dashboard_app.get(f"/v1/reports/{record.id}?format=pdf", headers=auth)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "attachment" in pdf.headers["Content-Disposition"]
    csv = dashboard_app.get(f"/v1/reports/{record.id}?format=csv", headers=auth)
    assert csv.status_code == 200 and b"Inquiries" in csv.data

    stranger = {"Authorization": f"Bearer {other.read_key}"}
    assert dashboard_app.get("/v1/reports", headers=stranger).json["reports"] == []
    for fmt in ("json", "pdf"):
        refused = dashboard_app.get(f"/v1/reports/{record.id}?format={fmt}", headers=stranger)
        assert refused.status_code == 404 and refused.json["error"] == "not_found"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/v1/reports?kind=daily", 400, "kind"),
        ("/v1/reports?limit=0", 400, "limit"),
        ("/v1/reports?before=yesterday", 400, "before"),
        ("/v1/reports/not-a-uuid", 404, None),
        ("/v1/reports/00000000-0000-4000-8000-000000000000", 404, None),
        ("/v1/reports/00000000-0000-4000-8000-000000000000?format=docx", 400, "format"),
    ],
)
def test_bad_report_requests_get_a_clear_error(
    local_reports: None, dashboard_app: Any, make_org: Callable[..., Any], path: str, status: int, field: str | None
) -> None:
    org = make_org()
    answer = dashboard_app.get(path, headers={"Authorization": f"Bearer {org.read_key}"})
    assert answer.status_code == status, answer.json
    if field:
        assert field in [e["loc"][0] for e in answer.json["fields"]]
    assert dashboard_app.get(path).status_code == 401


def test_quality_includes_the_latest_check_results_of_the_callers_organization(
    dashboard_app: Any, make_org: Callable[..., Any], conn: Any
) -> None:
    org, other = make_org(), make_org(name="Other Studio")
    factories.corrupt_rollups(conn, other.id, 1)
    quality.run(db.transaction)
    answer = dashboard_app.get("/v1/quality", headers={"Authorization": f"Bearer {org.read_key}"})
    assert answer.status_code == 200
    checks = answer.json["checks"]
    assert checks and {c["organization_id"] for c in checks} == {str(org.id)}
    assert {c["check"]: c["status"] for c in checks}["reconciliation"] == "pass"
    theirs = dashboard_app.get("/v1/quality", headers={"Authorization": f"Bearer {other.read_key}"}).json["checks"]
    assert {c["check"]: c["status"] for c in theirs}["reconciliation"] == "fail"


def test_organization_admins_list_and_replay_dead_letters_through_the_dashboard_too(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any], conn: Any
) -> None:
    from shared.core import apikeys

    org = make_org()
    bad = factories.make_event("payment.succeeded", currency="XXX")
    ingest_app.post("/v1/events", json=bad, headers={"Authorization": f"Bearer {org.ingest_key}"})
    with db.transaction() as c:
        admin = apikeys.create(c, org.id, ["admin"], name="admin")
    listed = dashboard_app.get("/v1/dead-letters", headers={"Authorization": f"Bearer {admin.key}"})
    assert listed.status_code == 200 and [d["event_id"] for d in listed.json["dead_letters"]] == [bad["event_id"]]
    assert dashboard_app.get("/v1/dead-letters", headers={"Authorization": f"Bearer {org.read_key}"}).status_code == 403
    replayed = dashboard_app.post("/v1/dead-letters/replay", json={}, headers={"Authorization": f"Bearer {admin.key}"})
    assert replayed.status_code == 202 and replayed.json["replayed"] == 1
    validation.drain(db.transaction)
    assert conn.execute("select replay_state from analytics_dead_letters").fetchone() == ("failed",)  # still bad
