"""The dashboard's web page: static files of this package, served by the dashboard function itself.

`index.html` is served at `/` and never cached without revalidation; every other file is served as
`/assets/<stem>.<hash>.<ext>` (functions-framework's Flask app keeps `/static/` for itself), its hash taken from its content once per process, so it can be cached for a year:
a new release changes the names the HTML refers to. Nothing is fetched from elsewhere at run time.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import flask

STATIC = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
_REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


@dataclass(frozen=True)
class Asset:
    """One static file as served: its public name carries a hash of its content."""

    name: str
    served_as: str
    body: bytes
    mimetype: str


def _hashed(path: Path) -> Asset:
    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:12]
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Asset(path.name, f"{path.stem}.{digest}{path.suffix}", body, mimetype)


@cache
def assets() -> dict[str, Asset]:
    """Every static file but the page itself, by its served name."""
    found = (_hashed(p) for p in sorted(STATIC.iterdir()) if p.is_file() and p.name != "index.html")
    return {a.served_as: a for a in found}


@cache
def page() -> bytes:
    """index.html with each `{{ name }}` replaced by that file's hashed URL (an unknown name fails at start-up)."""
    by_name = {a.name: a.served_as for a in assets().values()}

    def url(match: re.Match[str]) -> str:
        return f"/assets/{by_name[match.group(1)]}"

    return _REFERENCE.sub(url, (STATIC / "index.html").read_text(encoding="utf-8")).encode()


def _secure(response: flask.Response) -> flask.Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # the sign-in link carries a key until the page drops it
    return response


def index() -> flask.Response:
    response = flask.Response(page(), mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return _secure(response)


def asset(served_as: str) -> flask.Response | None:
    """The file with that hashed name, cacheable for a year; None when there is none (an old or unknown hash)."""
    found = assets().get(served_as)
    if found is None:
        return None
    response = flask.Response(found.body, mimetype=found.mimetype)
    response.headers["Cache-Control"] = IMMUTABLE
    return _secure(response)
