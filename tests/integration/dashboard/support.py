"""What the dashboard tests share: posting through the pipeline, asking the API, signing user tokens."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jwt
import pytest

from shared.aggregate import aggregation
from shared.core import db, settings
from shared.refresh import views as refresh
from shared.validate import validation

SECRET = "test-jwt-secret-of-a-decent-length-0123456789"
ROOT = Path(__file__).resolve().parents[3]


def post(app: Any, key: str, batch: list[dict[str, Any]]) -> None:
    answer = app.post(
        "/v1/events",
        data=json.dumps({"events": batch}),
        headers={"Authorization": f"Bearer {key}"},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.json


def drain(views: bool = False) -> None:
    assert not validation.drain(db.transaction)[1]
    assert not aggregation.drain(db.transaction)[1]
    if views:
        refresh.run(db.transaction, force=True)


def get(app: Any, path: str, token: str | None, headers: dict[str, str] | None = None, /, **params: str) -> Any:
    auth_header = {"Authorization": f"Bearer {token}"} if token else {}
    return app.get(path, query_string=params, headers={**auth_header, **(headers or {})})


def token(org_id: Any, *, where: str = "top", exp: int = 3600, aud: str = "authenticated", secret: str = SECRET) -> str:
    claims: dict[str, Any] = {"sub": "user-1", "aud": aud, "exp": int(time.time()) + exp, "role": "authenticated"}
    if where == "top":
        claims["organization_id"] = str(org_id)
    elif where == "app_metadata":
        claims["app_metadata"] = {"organization_id": str(org_id)}
    return jwt.encode(claims, secret, algorithm="HS256")


def at(day: str, hm: str, tz: str) -> str:
    return datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=ZoneInfo(tz)).isoformat()


def value(overview: dict[str, Any], metric: str, currency: str | None = None) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        m for m in overview["metrics"] if m["metric"] == metric and m["currency"] == currency
    ]
    assert len(found) == 1, (metric, currency, found)
    return found[0]


def live_settings(monkeypatch: pytest.MonkeyPatch, max_seconds: str, heartbeat_seconds: str) -> None:
    monkeypatch.setenv("DASHBOARD_LIVE_MAX_SECONDS", max_seconds)
    monkeypatch.setenv("DASHBOARD_LIVE_HEARTBEAT_SECONDS", heartbeat_seconds)
    monkeypatch.setenv("DASHBOARD_LIVE_POLL_MS", "20")
    settings.clear_cache()


def changes(text: str) -> list[Any]:
    return [json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith('data: {"org')]
