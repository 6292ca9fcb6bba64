"""ingest (HTTP function): the public door for events. Checks keys and events, queues, answers 202."""

from __future__ import annotations

import flask
import functions_framework

from shared.catalog import events
from shared.core import db, ratelimit, startup
from shared.core import http as web
from shared.ingest import document, inflate, intake, webhooks
from shared.ingest import settings as ingest_settings

startup.refuse_unsafe_settings("PII_HASH_KEY", "WEBHOOK_SECRETS_KEY")  # pseudonyms; webhook sources' secrets

router = web.Router()


def _body(request: flask.Request) -> bytes | flask.Response:
    conf = ingest_settings.get()
    return web.read_body(request, conf.max_body_bytes, conf.body_read_timeout_seconds)


def _decoded(request: flask.Request, data: bytes) -> bytes | flask.Response:
    """The body as sent before any `Content-Encoding: gzip`, held to the limits on its decoded size."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding != "gzip":
        return web.problem(415, "unsupported_encoding", f"send the body plain or gzip-encoded (got '{encoding}')")
    cfg = ingest_settings.get()
    try:
        decoded = inflate.gunzip(data, cfg.max_body_bytes, cfg.max_compression_ratio)
    except inflate.TooLarge as exc:
        return web.problem(413, "too_large", str(exc))
    except inflate.BadGzip as exc:
        return web.problem(400, "invalid_encoding", str(exc))
    return decoded


def _safe(key: str) -> str:
    return key.encode("ascii", "backslashreplace").decode()


@router.route("POST", "/v1/events")
def post_events(request: flask.Request) -> flask.Response:
    if request.mimetype != "application/json":
        return web.problem(
            415,
            "unsupported_media_type",
            f"send 'Content-Type: application/json' (got '{request.mimetype or 'none'}')",
        )
    caller = web.key_caller(request, "ingest")
    if isinstance(caller, flask.Response):
        return caller
    conf = ingest_settings.get()
    wait = ratelimit.buckets("ingest").take(str(caller.key_id), conf.ingest_rate_per_second, conf.ingest_rate_burst)
    if wait:
        return web.too_many_requests(wait, f"this API key is over {conf.ingest_rate_per_second:g} requests a second")
    body = _body(request)
    if isinstance(body, flask.Response):
        return body
    body = _decoded(request, body)
    if isinstance(body, flask.Response):
        return body
    try:
        parsed = document.parse(body)
    except document.NotJson as exc:
        return web.problem(400, "invalid_json", str(exc))
    doc = parsed.document
    if isinstance(doc, dict) and "events" in doc:
        extra = sorted(set(doc) - {"events"})
        if extra:
            return web.problem(
                400,
                "invalid_envelope",
                "a batch envelope has only the 'events' field",
                [web.FieldError(loc=[_safe(k)], msg="unknown field", type="extra_forbidden") for k in extra],
            )
        if document.duplicate_keys(doc):
            return web.problem(
                400,
                "invalid_envelope",
                "a batch envelope has the 'events' field once",
                [web.FieldError(loc=["events"], msg="appears more than once", type="duplicate_key")],
            )
        batch = doc["events"]
        if not isinstance(batch, list) or not batch:
            return web.problem(
                400,
                "invalid_envelope",
                "'events' must be a non-empty array of events",
                [web.FieldError(loc=["events"], msg="must be a non-empty array", type="list_type")],
            )
    elif isinstance(doc, dict):
        batch = [doc]
    else:
        return web.problem(400, "invalid_envelope", 'the body must be one event object or {"events": [...]}')
    limit = ingest_settings.get().max_batch_events
    if len(batch) > limit:
        return web.problem(413, "too_many_events", f"{len(batch)} events in one request; at most {limit} allowed")
    result = intake.accept(db.transaction, caller, document.judge_all(parsed, batch))
    return web.json_response(result, 202)


@router.route("GET", "/v1/schema/events")
def get_schema(request: flask.Request) -> flask.Response:
    return web.json_response(events.json_schema(), headers={"Cache-Control": "public, max-age=3600"})


@router.route("POST", "/v1/webhooks/<provider>/<source_id>")
def post_webhook(request: flask.Request, provider: str, source_id: str) -> flask.Response:
    """A provider's delivery: 202 once it is verified and queued; 401 (nothing stored) when not authentic."""
    body = _body(request)
    if isinstance(body, flask.Response):
        return body
    receipt = webhooks.receive(db.transaction, provider, source_id, body, dict(request.headers))
    if receipt.status == 202:
        return web.json_response({"received": True}, 202)
    if receipt.status == 404:
        return web.problem(404, "unknown_source", receipt.message)
    challenge = {"WWW-Authenticate": 'Basic realm="wedsync-webhooks"'} if provider == "postmark" else None
    return web.problem(401, "invalid_signature", receipt.message, headers=challenge)


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    return router.dispatch(request)
