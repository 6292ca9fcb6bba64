"""Share links over HTTP for organization admins (an API key with the `admin` scope), as the dead-letter routes:
`POST /v1/share-links` creates one (its token is in that answer only), `GET /v1/share-links` lists them and
`DELETE /v1/share-links/<id>` revokes one, always within the key's own organization.
"""

from __future__ import annotations

import json
from typing import Annotated
from uuid import UUID

import flask
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.core import db
from shared.core import http as web
from shared.dashboard import sharelinks


class NewShareLink(BaseModel):
    """Body of POST /v1/share-links."""

    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, Field(max_length=200)] = ""
    expires_in: str = Field(default="7d", description="How long the link works: 30m, 12h, 7d, 2w (at most 366 days).")
    panels: list[str] | None = Field(
        default=None, description=f"Panels it opens ({', '.join(sharelinks.PANELS)}); none: all."
    )

    @field_validator("label")
    @classmethod
    def _text(cls, value: str) -> str:
        if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
            raise ValueError("must be text without NUL characters or lone surrogates")
        return value

    @field_validator("expires_in")
    @classmethod
    def _lifetime(cls, value: str) -> str:
        lifetime = sharelinks.parse_lifetime(value)
        if lifetime > sharelinks.MAX_LIFETIME:
            raise ValueError(f"a share link lives at most {sharelinks.MAX_LIFETIME.days} days")
        return value

    @field_validator("panels")
    @classmethod
    def _panels(cls, value: list[str] | None) -> list[str] | None:
        return sharelinks.check_panels(value)


def _json(model: BaseModel, status: int = 200) -> flask.Response:
    return web.json_response(model, status, headers={"Cache-Control": "no-store"})


def post_share_link(request: flask.Request) -> flask.Response:
    read = web.admin_json(request, NewShareLink)
    if isinstance(read, flask.Response):
        return read
    caller, asked = read
    with db.transaction() as conn:
        created = sharelinks.create(
            conn,
            caller.organization_id,
            label=asked.label,
            panels=asked.panels,
            lifetime=sharelinks.parse_lifetime(asked.expires_in),
            created_by=f"api-key:{caller.key_id}",
        )
    return _json(created, 201)


def get_share_links(request: flask.Request) -> flask.Response:
    caller = web.key_caller(request, "admin")
    if isinstance(caller, flask.Response):
        return caller
    with db.transaction() as conn:
        links = sharelinks.list_links(conn, caller.organization_id)
    return web.json_response(
        {"share_links": [json.loads(link.model_dump_json()) for link in links]}, headers={"Cache-Control": "no-store"}
    )


def delete_share_link(request: flask.Request, link_id: str) -> flask.Response:
    caller = web.key_caller(request, "admin")
    if isinstance(caller, flask.Response):
        return caller
    try:
        wanted = UUID(link_id)
    except ValueError:
        return web.problem(404, "not_found", f"no share link {link_id!r}: share link ids are UUIDs")
    with db.transaction() as conn:
        revoked = sharelinks.revoke(conn, wanted, caller.organization_id)
    if revoked is None:
        return web.problem(404, "not_found", f"no live share link {link_id} in this organization")
    return _json(revoked)


def register(router: web.Router) -> None:
    router.route("POST", "/v1/share-links")(post_share_link)
    router.route("GET", "/v1/share-links")(get_share_links)
    router.route("DELETE", "/v1/share-links/<link_id>")(delete_share_link)
