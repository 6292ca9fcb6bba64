"""Business-alert rules over HTTP for organization admins (an API key with the `admin` scope), as the dead-letter
and share-link routes: `GET /v1/alerts` shows every alert's thresholds and mute with the open and recent
incidents, `POST /v1/alerts/<alert>` sets thresholds and/or mutes, always within the key's own organization.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import flask
from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.core import db
from shared.core import http as web
from shared.monitor import alertrules

RECENT_INCIDENTS = timedelta(days=30)


class RuleChange(BaseModel):
    """Body of POST /v1/alerts/<alert>: any of new thresholds, a mute for a while or until a moment, an unmute."""

    model_config = ConfigDict(extra="forbid")

    thresholds: dict[str, Any] | None = Field(
        default=None, description="Thresholds to set (merged with those already set); see docs/alerts.md."
    )
    replace: bool = Field(default=False, description="Replace the thresholds set before instead of merging.")
    mute_for: str | None = Field(default=None, description="Mute for 30m, 12h, 7d, 2w (at most 366 days).")
    muted_until: datetime | None = Field(default=None, description="Mute until this moment (with a UTC offset).")
    unmute: bool = False

    @field_validator("mute_for")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            alertrules.parse_duration(value)
        return value

    @field_validator("muted_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a UTC offset, e.g. 2027-01-01T00:00:00Z")
        return value


def _answer(conn: Any, org: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    rules = [json.loads(r.model_dump_json()) for r in alertrules.rules(conn, org, now)]
    incidents = db.fetch_all(
        conn,
        "business_incidents_of",
        {"organization_id": org, "alerts": list(alertrules.ALERTS), "since": now - RECENT_INCIDENTS},
        dict_row,
    )
    return {"rules": rules, "incidents": json.loads(json.dumps(incidents, default=str))}


def get_alerts(request: flask.Request) -> flask.Response:
    caller = web.key_caller(request, "admin")
    if isinstance(caller, flask.Response):
        return caller
    with db.transaction() as conn:
        answer = _answer(conn, caller.organization_id)
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


def post_alert(request: flask.Request, alert: str) -> flask.Response:
    read = web.admin_json(request, RuleChange)
    if isinstance(read, flask.Response):
        return read
    caller, change = read
    try:
        name = alertrules.alert_name(alert)
    except ValueError as exc:
        return web.problem(404, "not_found", str(exc))
    by = f"api-key:{caller.key_id}"
    with db.transaction() as conn:
        if change.thresholds is not None:
            try:
                alertrules.set_thresholds(
                    conn, caller.organization_id, name, change.thresholds, by=by, replace=change.replace
                )
            except ValidationError as exc:
                return web.invalid(exc, "thresholds")
        until = change.muted_until
        if change.mute_for is not None:
            until = datetime.now(UTC) + alertrules.parse_duration(change.mute_for)
        if until is not None or change.unmute:
            alertrules.mute(conn, caller.organization_id, [name], None if change.unmute else until, by=by)
        answer = _answer(conn, caller.organization_id)
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


def register(router: web.Router) -> None:
    router.route("GET", "/v1/alerts")(get_alerts)
    router.route("POST", "/v1/alerts/<alert>")(post_alert)
