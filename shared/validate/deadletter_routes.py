"""Dead-letter listing and replay over HTTP for organization admins (an API key with the `admin` scope).

Served by the monitor function and by the dashboard function alike: `register(router)` adds
`GET /v1/dead-letters` and `POST /v1/dead-letters/replay`, always limited to the key's own organization.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import flask
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from shared.core import db
from shared.core import http as web
from shared.validate import replay


def _text(value: str) -> str:
    if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("must be text without NUL characters or lone surrogates")
    return value


def _moment(value: datetime) -> datetime:
    if not 2000 <= value.year <= 2100:
        raise ValueError("must be a date-time between the years 2000 and 2100")
    return value


Text = Annotated[str, Field(max_length=200), AfterValidator(_text)]
Moment = Annotated[datetime, AfterValidator(_moment)]
LetterId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class LetterQuery(BaseModel):
    """Query parameters of GET /v1/dead-letters."""

    model_config = ConfigDict(extra="forbid")

    source: Text | None = None
    stage: replay.Stage | None = None
    reason: Text | None = None
    state: replay.ReplayState | None = None
    since: Moment | None = None
    until: Moment | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class ReplayRequest(BaseModel):
    """Body of POST /v1/dead-letters/replay: which letters (every field optional, combined with AND)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[LetterId] | None = Field(default=None, min_length=1, max_length=10_000)
    source: Text | None = None
    stage: replay.Stage | None = None
    reason: Text | None = None
    since: Moment | None = None
    until: Moment | None = None
    limit: int = Field(default=1000, ge=1, le=10_000)


def get_dead_letters(request: flask.Request) -> flask.Response:
    caller = web.key_caller(request, "admin")
    if isinstance(caller, flask.Response):
        return caller
    try:
        query = LetterQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        return web.invalid(exc, "query")
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


def post_replay(request: flask.Request) -> flask.Response:
    read = web.admin_json(request, ReplayRequest)
    if isinstance(read, flask.Response):
        return read
    caller, asked = read
    where = replay.LetterFilter(organization_id=caller.organization_id, **asked.model_dump())
    with db.transaction() as conn:
        result = replay.replay(conn, where)
    return web.json_response(result, 202 if result.replayed else 200)


def register(router: web.Router) -> None:
    router.route("GET", "/v1/dead-letters")(get_dead_letters)
    router.route("POST", "/v1/dead-letters/replay")(post_replay)
