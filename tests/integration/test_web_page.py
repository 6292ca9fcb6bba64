"""The dashboard's web page as its function serves it: the HTML, its hashed static files, the live feed's key."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest

from shared.core import apikeys, settings
from shared.dashboard import auth, webpage


@pytest.fixture(autouse=True)
def _fresh(database_url: str) -> None:
    apikeys.cache.clear()
    auth.jwks.clear()


def _referenced(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)


def test_the_page_is_served_at_the_root_revalidated_every_time_and_confined_to_its_own_origin(
    dashboard_app: Any,
) -> None:
    answer = dashboard_app.get("/")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    assert answer.headers["Cache-Control"] == "no-cache"
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy  # no CDN, no inline code
    html = answer.get_data(as_text=True)
    assert "{{" not in html and len(_referenced(html)) >= 2


def test_every_file_the_page_refers_to_is_served_immutable_under_a_hash_of_its_content(dashboard_app: Any) -> None:
    for url in _referenced(dashboard_app.get("/").get_data(as_text=True)):
        answer = dashboard_app.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        stem, digest, ext = url.removeprefix("/assets/").rsplit(".", 2)
        assert hashlib.sha256(answer.data).hexdigest()[:12] == digest
        assert answer.data == (webpage.STATIC / f"{stem}.{ext}").read_bytes()
        assert answer.mimetype in {"text/javascript", "application/javascript", "text/css"}


@pytest.mark.parametrize("url", ["/assets/app.000000000000.js", "/assets/app.js", "/assets/index.html", "/assets/x"])
def test_an_unknown_or_unhashed_file_is_a_404(dashboard_app: Any, url: str) -> None:
    answer = dashboard_app.get(url)
    assert answer.status_code == 404 and answer.json["error"] == "not_found"


def test_the_live_feed_accepts_the_key_as_a_query_parameter_because_event_source_sends_no_headers(
    dashboard_app: Any, make_org: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHBOARD_LIVE_MAX_SECONDS", "0.3")
    monkeypatch.setenv("DASHBOARD_LIVE_POLL_MS", "20")
    settings.clear_cache()
    org = make_org()
    answer = dashboard_app.get(f"/v1/events/live?key={org.read_key}")
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    assert "event: end" in answer.get_data(as_text=True)
    assert dashboard_app.get("/v1/events/live?key=wsk_nonsense").status_code == 401
    assert dashboard_app.get("/v1/events/live?key=a&key=b").status_code in {400, 401}
    other = dashboard_app.get(f"/v1/metrics/overview?key={org.read_key}")  # elsewhere the header only
    assert other.status_code in {400, 401}
