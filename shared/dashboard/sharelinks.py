"""Share links: a read-only view of one organization's dashboard for someone without an account (an accountant,
a business partner), signed, expiring, revocable, and optionally limited to some panels.

A token is `wss_<link id>.<expiry>.<signature>`: an HMAC-SHA256 (SHARE_LINK_KEY) over the link id and its expiry,
so a forged or altered token is refused without a database read, and the expiry holds even if the row's did not.
The link's row is read on every request all the same (owner-side; the table grants nothing to users), so a
revocation takes effect at once. A valid link becomes a `Viewer` of its organization with the `authenticated`
role, so row-level security keeps it to that organization exactly as it does a signed-in user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from pydantic import BaseModel

from shared.core import db
from shared.dashboard import auth
from shared.dashboard import settings as dashboard_settings

PREFIX = "wss_"
DEFAULT_LIFETIME = timedelta(days=7)
MAX_LIFETIME = timedelta(days=366)

# Each panel and the read routes it opens. The metric registry, the organization's calendar and the live feed
# carry no figures of their own and every panel needs them, so any link may read them.
PANELS: dict[str, tuple[str, ...]] = {
    "overview": ("/v1/metrics/overview", "/v1/metrics/timeseries", "/v1/metrics/breakdown"),
    "funnel": ("/v1/funnel",),
    "revenue": ("/v1/revenue", "/v1/weddings"),  # the wedding axis: booked, paid and outstanding money
    "quality": ("/v1/quality",),
    "reports": ("/v1/reports", "/v1/reports/"),
}
OPEN_TO_EVERY_LINK = ("/v1/metrics", "/v1/organization", "/v1/events/live")

_DURATION = re.compile(r"^(?P<n>[1-9][0-9]*)(?P<unit>[mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class ShareLink(BaseModel):
    """A share link as the admin routes and the CLI show it (never with its token: that is shown once)."""

    id: UUID
    organization_id: UUID
    label: str
    panels: list[str] | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    created_by: str


class CreatedLink(ShareLink):
    """A new link with its token and ready URLs: the only time the token is shown."""

    token: str
    url: str
    api_url: str


def parse_lifetime(text: str) -> timedelta:
    """`30m`, `12h`, `7d` or `2w` as a duration; a ValueError says what is accepted."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a duration: give a number and m, h, d or w (30m, 12h, 7d, 2w)")
    return timedelta(**{_UNITS[found["unit"]]: int(found["n"])})


def check_panels(panels: list[str] | None) -> list[str] | None:
    """The panels in a stable order without repeats; a ValueError names any unknown one."""
    if panels is None:
        return None
    unknown = sorted(set(panels) - set(PANELS))
    if unknown:
        raise ValueError(f"unknown panel(s) {', '.join(unknown)}; panels are {', '.join(PANELS)}")
    if not panels:
        raise ValueError(f"give at least one panel ({', '.join(PANELS)}), or none at all for every panel")
    return [p for p in PANELS if p in panels]


def _key() -> bytes:
    return dashboard_settings.get().share_link_key.get_secret_value().encode()


def _signature(link_id: UUID, expires: int) -> str:
    mac = hmac.new(_key(), f"share-link:v1:{link_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token(link_id: UUID, expires_at: datetime) -> str:
    """The signed token of a link: URL-safe, so it travels as `?share=` as well as a bearer token."""
    expires = int(expires_at.timestamp())
    return f"{PREFIX}{link_id}.{expires}.{_signature(link_id, expires)}"


def urls(share_token: str) -> tuple[str, str]:
    """The dashboard page and the overview API, each opened with the token (DASHBOARD_PUBLIC_URL as the base)."""
    base = dashboard_settings.get().dashboard_public_url.rstrip("/")
    return f"{base}/?share={share_token}", f"{base}/v1/metrics/overview?share={share_token}"


def create(
    conn: Connection[Any],
    organization_id: UUID,
    *,
    label: str = "",
    panels: list[str] | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
    created_by: str = "",
) -> CreatedLink:
    """Store a link and sign its token; a ValueError names a lifetime or a panel that is not allowed."""
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ValueError(f"a share link lives more than 0 and at most {MAX_LIFETIME.days} days")
    expires_at = (datetime.now(UTC) + lifetime).replace(microsecond=0)
    row = db.fetch_one(
        conn,
        "share_link_create",
        {
            "organization_id": organization_id,
            "label": label,
            "panels": check_panels(panels),
            "expires_at": expires_at,
            "created_by": created_by,
        },
        ShareLink,
    )
    assert row is not None
    share_token = token(row.id, row.expires_at)
    url, api_url = urls(share_token)
    return CreatedLink(**row.model_dump(), token=share_token, url=url, api_url=api_url)


def list_links(conn: Connection[Any], organization_id: UUID) -> list[ShareLink]:
    return db.fetch_all(conn, "share_link_list", {"organization_id": organization_id}, ShareLink)


def revoke(conn: Connection[Any], link_id: UUID, organization_id: UUID | None = None) -> ShareLink | None:
    """Revoke a live link (of `organization_id` when given); None if there is no such live link."""
    return db.fetch_one(conn, "share_link_revoke", {"id": link_id, "organization_id": organization_id}, ShareLink)


def _parse(share_token: str) -> tuple[UUID, int]:
    try:
        raw_id, raw_expires, signature = share_token.removeprefix(PREFIX).split(".")
        link_id, expires = UUID(raw_id), int(raw_expires)
    except ValueError:
        raise auth.AuthError(401, "the share token is malformed; use the whole link you were given") from None
    if not hmac.compare_digest(signature, _signature(link_id, expires)):
        raise auth.AuthError(401, "the share token's signature is not valid")
    return link_id, expires


def verify(share_token: str) -> auth.Viewer:
    """The read-only viewer behind a share token: signature, expiry (in the token and in the row), revocation."""
    link_id, expires = _parse(share_token)
    now = datetime.now(UTC)
    if expires <= now.timestamp():
        raise auth.AuthError(401, "this share link has expired; ask its owner for a new one")
    with db.transaction() as conn:
        link = db.fetch_one(conn, "share_link_find", {"id": link_id}, ShareLink)
    if link is None:
        raise auth.AuthError(401, "this share link does not exist (any more)")
    if link.revoked_at is not None:
        raise auth.AuthError(401, f"this share link was revoked on {link.revoked_at:%Y-%m-%d %H:%M} UTC")
    if link.expires_at <= now:
        raise auth.AuthError(401, "this share link has expired; ask its owner for a new one")
    claims = {"role": "authenticated", "sub": f"share-link:{link.id}", "organization_id": str(link.organization_id)}
    panels = frozenset(link.panels) if link.panels is not None else None
    return auth.Viewer(link.organization_id, claims, "share_link", panels)


def panel_of(path: str) -> str | None:
    """The panel a read route belongs to; None for the routes every link may read."""
    path = path.rstrip("/") or "/"
    if path in OPEN_TO_EVERY_LINK:
        return None
    for panel, routes in PANELS.items():
        if any(path == r or (r.endswith("/") and path.startswith(r)) for r in routes):
            return panel
    return "admin"  # anything else is not a panel a share link may open


def authorize(viewer: auth.Viewer, path: str) -> None:
    """Refuse (403, naming the panel) a share link reading a route outside its panels."""
    if viewer.via != "share_link" or viewer.panels is None:
        return
    panel = panel_of(path)
    if panel is not None and panel not in viewer.panels:
        raise auth.AuthError(
            403, f"this share link does not include the {panel!r} panel; it opens: {', '.join(sorted(viewer.panels))}"
        )


def authenticate(bearer: str | None, share: str | None, path: str) -> auth.Viewer:
    """The viewer of a dashboard read: a share token (bearer or `?share=`), else a user token or an API key."""
    presented = bearer if bearer is not None else share
    if presented is not None and presented.startswith(PREFIX):
        viewer = verify(presented)
        authorize(viewer, path)
        return viewer
    if bearer is None and share is not None:
        raise auth.AuthError(401, "the share parameter is not a share token (wss_...)")
    return auth.authenticate(bearer)
