"""Sign-in links to the dashboard's web page, as `up` prints them: the page takes a read key from `?key=`."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from shared.core import apikeys, db


def link(dashboard_url: str, read_key: str) -> str:
    """The page's address that signs in with `read_key` (the page then keeps it in the tab and drops it from
    the address bar)."""
    return f"{dashboard_url.rstrip('/')}/?{urlencode({'key': read_key})}"


def new_read_key(database_url: str, organization_id: UUID, name: str) -> str:
    """A fresh key with the 'read' scope only: what a sign-in link should carry."""
    with db.transaction(database_url) as conn:
        return apikeys.create(conn, organization_id, ["read"], name=name).key
