"""The raw-event export: GET /v1/export/events and `wedsync-analytics export events` give exactly the stored events
of the caller's organization, gzipped CSV, and row-level security keeps every other organization's out."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shared.dashboard import eventexport
from shared.tools import cli
from shared.tools.commands import exports
from tests import factories
from tests.integration.dashboard import support

_STORED = """
select id::text, event_id, event_type, schema_version::text,
       to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), source,
       coalesce(client_id, ''), coalesce(booking_id, ''), coalesce(amount_minor::text, ''),
       coalesce(currency::text, ''), properties
from analytics_events where organization_id = %s and occurred_at >= %s and occurred_at < %s
order by occurred_at, id
"""


@pytest.fixture(autouse=True)
def _fresh(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.core import apikeys, settings

    monkeypatch.setenv("SUPABASE_JWT_SECRET", support.SECRET)
    settings.clear_cache()
    apikeys.cache.clear()


def _events(prefix: str, n: int) -> list[dict[str, Any]]:
    start = datetime(2026, 9, 1, 8, tzinfo=UTC)
    kinds = ["inquiry.received", "payment.succeeded", "email.sent", "review.received", "app.action"]
    return [
        factories.make_event(
            kinds[i % len(kinds)],
            event_id=f"{prefix}-{i}",
            occurred_at=start + timedelta(hours=7 * i),
            client_id=f"{prefix}-client-{i % 5}",
        )
        for i in range(n)
    ]


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(data).decode())))


def _as_stored(rows: list[dict[str, str]]) -> list[tuple[Any, ...]]:
    keys = "id event_id event_type schema_version occurred_at source client_id booking_id amount_minor currency"
    return [(*(r[k] for k in keys.split()), json.loads(r["properties"])) for r in rows]


def _stored(conn: psycopg.Connection[Any], org: Any, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(_STORED, (org, start, end)).fetchall()]


def test_the_export_is_every_stored_event_of_the_callers_organization_and_none_of_another(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    support.post(ingest_app, mine.ingest_key, _events("mine", 120))
    support.post(ingest_app, theirs.ingest_key, _events("theirs", 40))
    support.drain()

    answer = support.get(dashboard_app, "/v1/export/events", mine.read_key)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/gzip"
    assert answer.headers["Content-Disposition"].endswith('.csv.gz"')
    rows = _rows(answer.data)
    assert list(rows[0]) == eventexport.COLUMNS
    everything = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC))
    assert _as_stored(rows) == _stored(conn, mine.id, *everything)
    assert len(rows) == 120 and not any(r["event_id"].startswith("theirs") for r in rows)


def test_the_export_of_a_window_has_the_events_of_those_local_days_only(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(timezone="America/New_York")
    support.post(ingest_app, org.ingest_key, _events("w", 60))
    support.drain()
    answer = support.get(dashboard_app, "/v1/export/events", org.read_key, **{"from": "2026-09-03", "to": "2026-09-05"})
    start, end = datetime(2026, 9, 3, 4, tzinfo=UTC), datetime(2026, 9, 6, 4, tzinfo=UTC)  # EDT midnights
    stored = _stored(conn, org.id, start, end)
    assert 0 < len(stored) < 60
    assert _as_stored(_rows(answer.data)) == stored


def test_row_level_security_empties_an_export_asked_for_another_organizations_id(
    ingest_app: Any, make_org: Callable[..., Any]
) -> None:
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    support.post(ingest_app, theirs.ingest_key, _events("theirs", 10))
    support.drain()
    viewer = exports.viewer_of(mine.id)
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC)
    from shared.dashboard import serving

    with serving.as_viewer(viewer) as c:  # as Mine, asking for Theirs by id: the policy hides every row
        data = b"".join(eventexport.csv_gz(c, theirs.id, start, end))
    assert _rows(data) == []


def test_the_cli_export_writes_the_same_file_contents_as_the_api(
    ingest_app: Any, dashboard_app: Any, make_org: Callable[..., Any], tmp_path: Path
) -> None:
    org = make_org()
    support.post(ingest_app, org.ingest_key, _events("cli", 30))
    support.drain()
    out = tmp_path / "events.csv.gz"
    assert cli.main(["export", "events", "--org", str(org.id), "--out", str(out)]) == 0
    api = support.get(dashboard_app, "/v1/export/events", org.read_key)
    assert gzip.decompress(out.read_bytes()) == gzip.decompress(api.data)
    assert len(_rows(out.read_bytes())) == 30


def test_a_bad_window_is_refused_before_anything_is_streamed(dashboard_app: Any, make_org: Callable[..., Any]) -> None:
    org = make_org()
    answer = support.get(dashboard_app, "/v1/export/events", org.read_key, **{"from": "2026-10-05", "to": "2026-10-01"})
    assert answer.status_code == 400
    assert support.get(dashboard_app, "/v1/export/events", None).status_code == 401


def test_the_cli_parquet_export_holds_the_same_events_as_the_csv(
    ingest_app: Any, make_org: Callable[..., Any], tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")  # the optional extra: pip install 'wedsync-analytics[parquet]'
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    support.post(ingest_app, mine.ingest_key, _events("pq", 25))
    support.post(ingest_app, theirs.ingest_key, _events("other", 5))
    support.drain()
    assert cli.main(["export", "events", "--org", str(mine.id), "--out", str(tmp_path / "e.parquet")]) == 0
    assert cli.main(["export", "events", "--org", str(mine.id), "--out", str(tmp_path / "e.csv.gz")]) == 0
    table = pq.read_table(tmp_path / "e.parquet").to_pylist()
    rows = _rows((tmp_path / "e.csv.gz").read_bytes())
    assert [(str(t["id"]), t["event_id"], json.loads(t["properties"])) for t in table] == [
        (r["id"], r["event_id"], json.loads(r["properties"])) for r in rows
    ]
    assert len(table) == 25 and table[0]["occurred_at"].isoformat().startswith(rows[0]["occurred_at"][:19])
