"""monitor (cron-triggered function): runs the data quality checks and alerts; also serves dead-letter
listing and replay to organization admins, and (entry point `retention`) the daily retention run.

`POST /` (the scheduler, with INVOKE_SECRET): run every check, store the results, open/resolve incidents and
notify. `GET /v1/dead-letters` and `POST /v1/dead-letters/replay`: an API key with the `admin` scope, limited
to its own organization.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import flask
import functions_framework
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared import alerts, apikeys, db, quality, replay, retention
from shared import http as web

router = web.Router()
retention_router = web.Router()
_keys = apikeys.KeyCache()


def _admin(request: flask.Request) -> apikeys.Caller | flask.Response:
    token = web.bearer_token(request)
    if token is None:
        return web.problem(
            401,
            "unauthorized",
            "send an admin API key as 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    caller = _keys.lookup(db.transaction, token)
    if caller is None:
        return web.problem(
            401, "unauthorized", "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
        )
    if "admin" not in caller.scopes:
        return web.problem(403, "forbidden", "this key does not have the 'admin' scope")
    return caller


def _invalid(exc: ValidationError, what: str) -> flask.Response:
    fields = [
        web.FieldError(loc=list(e["loc"]), msg=e["msg"].removeprefix("Value error, "), type=e["type"])
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return web.problem(400, "invalid_request", f"the {what} is not valid", fields)


@router.route("POST", "/")
@web.invoked_only
def post_run(request: flask.Request) -> flask.Response:
    summary = quality.run(db.transaction)
    sent = alerts.process(db.transaction, summary)
    counts = {s: sum(1 for r in summary.results if r.status == s) for s in ("pass", "warn", "fail")}
    return web.json_response(
        {"run_id": str(summary.run_id), "skipped": summary.skipped, "results": counts, "alerts": sent}
    )


class LetterQuery(BaseModel):
    """Query parameters of GET /v1/dead-letters."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = None
    stage: replay.Stage | None = None
    reason: str | None = None
    state: replay.ReplayState | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class ReplayRequest(BaseModel):
    """Body of POST /v1/dead-letters/replay: which letters (every field optional, combined with AND)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = Field(default=None, min_length=1, max_length=10_000)
    source: str | None = None
    stage: replay.Stage | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=1000, ge=1, le=10_000)


@router.route("GET", "/v1/dead-letters")
def get_dead_letters(request: flask.Request) -> flask.Response:
    caller = _admin(request)
    if isinstance(caller, flask.Response):
        return caller
    try:
        query = LetterQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        return _invalid(exc, "query")
    where = replay.LetterFilter(
        organization_id=caller.organization_id,
        source=query.source,
        stage=query.stage,
        reason=query.reason,
        states=[query.state] if query.state else None,
        since=query.since,
        until=query.until,
        limit=query.limit,
    )
    with db.transaction() as conn:
        letters = replay.list_letters(conn, where)
    return web.json_response({"dead_letters": [json.loads(x.model_dump_json()) for x in letters]})


@router.route("POST", "/v1/dead-letters/replay")
def post_replay(request: flask.Request) -> flask.Response:
    if request.mimetype != "application/json":
        return web.problem(415, "unsupported_media_type", "send 'Content-Type: application/json'")
    caller = _admin(request)
    if isinstance(caller, flask.Response):
        return caller
    try:
        body: Any = json.loads(request.get_data() or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        return web.problem(400, "invalid_json", f"the body is not valid JSON: {exc}")
    try:
        asked = ReplayRequest.model_validate(body)
    except ValidationError as exc:
        return _invalid(exc, "body")
    where = replay.LetterFilter(organization_id=caller.organization_id, **asked.model_dump())
    with db.transaction() as conn:
        result = replay.replay(conn, where)
    return web.json_response(result, 202 if result.replayed else 200)


@functions_framework.http
def monitor(request: flask.Request) -> flask.Response:
    return router.dispatch(request)


@retention_router.route("POST", "/")
@web.invoked_only
def post_retention(request: flask.Request) -> flask.Response:
    report = retention.run(db.transaction)
    return web.json_response(report)


@functions_framework.http
def retention_run(request: flask.Request) -> flask.Response:
    return retention_router.dispatch(request)
