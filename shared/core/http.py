"""HTTP plumbing shared by the HTTP functions: JSON answers, problem bodies, credentials, routing."""

from __future__ import annotations

import functools
import hmac
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import flask
from pydantic import BaseModel, Field, ValidationError

from shared.core import settings, startup

if TYPE_CHECKING:
    from shared.core import apikeys


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where in the input: the path of the field")
    msg: str = Field(description="What is wrong and what is allowed")
    type: str = Field(description="A machine-readable kind of error")


class Problem(BaseModel):
    """Every error answer has this body."""

    error: str = Field(description="A stable machine-readable code, such as invalid_json or unauthorized")
    message: str = Field(description="What went wrong, for a person")
    fields: list[FieldError] = Field(default_factory=list)


def json_response(
    body: BaseModel | dict[str, Any] | list[Any], status: int = 200, headers: dict[str, str] | None = None
) -> flask.Response:
    text = body.model_dump_json() if isinstance(body, BaseModel) else flask.json.dumps(body)
    response = flask.Response(text, status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem(
    status: int,
    error: str,
    message: str,
    fields: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> flask.Response:
    return json_response(Problem(error=error, message=message, fields=fields or []), status, headers)


def too_many_requests(wait_seconds: float, message: str) -> flask.Response:
    """The 429 of every limit: `Retry-After` says in whole seconds when trying again can succeed."""
    from shared.core import ratelimit

    return problem(429, "too_many_requests", message, headers={"Retry-After": ratelimit.retry_after(wait_seconds)})


def read_body(request: flask.Request, limit: int, timeout_seconds: float) -> bytes | flask.Response:
    """The request body, or the answer to send instead: 413 over `limit` bytes, 408 when it has not all arrived
    within `timeout_seconds`, so a trickling client cannot hold a thread (its connection is then closed)."""
    from shared.core import requestbody

    try:
        return requestbody.read(request, limit, timeout_seconds)
    except requestbody.TooLarge as exc:
        return problem(413, "too_large", str(exc))
    except requestbody.TooSlow as exc:
        return problem(408, "request_timeout", f"{exc}; send it faster")


def bearer_token(request: flask.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def key_caller(request: flask.Request, scope: str) -> apikeys.Caller | flask.Response:
    """The organization API key's caller if it is live and has `scope`; otherwise the 401/403 answer to send."""
    from shared.core import apikeys, db

    token = bearer_token(request)
    if token is None:
        return problem(
            401,
            "unauthorized",
            f"send an organization API key with the '{scope}' scope as 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    caller = apikeys.cache.lookup(db.transaction, token)
    if caller is None:
        return problem(401, "unauthorized", "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
    if scope not in caller.scopes:
        return problem(403, "forbidden", f"this key does not have the '{scope}' scope")
    return caller


def invalid(exc: ValidationError, what: str) -> flask.Response:
    """A 400 naming every field of the request's `what` (body, query) that failed, and why."""
    fields = [
        FieldError(loc=list(e["loc"]), msg=e["msg"].removeprefix("Value error, "), type=e["type"])
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return problem(400, "invalid_request", f"the {what} is not valid", fields)


M = TypeVar("M", bound=BaseModel)


def admin_json(request: flask.Request, model: type[M]) -> tuple[apikeys.Caller, M] | flask.Response:
    """An organization admin's JSON request body read into `model`: the caller and the body, or the 4xx to send
    (415 not JSON, 401/403 no admin key, 400 unreadable or invalid body naming the fields)."""
    if request.mimetype != "application/json":
        return problem(415, "unsupported_media_type", "send 'Content-Type: application/json'")
    caller = key_caller(request, "admin")
    if isinstance(caller, flask.Response):
        return caller
    try:
        body: Any = json.loads(request.get_data() or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return problem(400, "invalid_json", f"the body is not valid JSON: {exc}")
    try:
        return caller, model.model_validate(body)
    except ValidationError as exc:
        return invalid(exc, "body")


def invoker_allowed(request: flask.Request) -> bool:
    """Queue and cron functions accept calls only from holders of INVOKE_SECRET (`Authorization: Bearer ...`).

    Without INVOKE_SECRET they are open for local development, but never when deployed (Cloud Run sets
    K_SERVICE; or WEDSYNC_ENV=production): a deployed function missing its secret refuses everyone rather than
    serving the internet.
    Google-signed identity tokens are not accepted: the database (pg_net) cannot mint them; see docs/deploy.md.
    """
    secret = settings.get_settings().invoke_secret
    if secret is None:
        return not startup.deployed()
    token = bearer_token(request) or ""
    return hmac.compare_digest(token.encode(), secret.get_secret_value().encode())


Handler = Callable[..., flask.Response]


def invoked_only(handler: Handler) -> Handler:
    """For endpoints the database or the scheduler calls (queue drains, cron runs): anyone else gets 401."""

    @functools.wraps(handler)
    def guarded(request: flask.Request, **kwargs: Any) -> flask.Response:
        if not invoker_allowed(request):
            return problem(
                401,
                "unauthorized",
                "this function is invoked by the pipeline and its scheduler only",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return handler(request, **kwargs)

    return guarded


def _health(request: flask.Request) -> flask.Response:
    """Every function answers GET /healthz: database reachable, migrations current, queues reachable."""
    from shared.core import health

    result = health.check()
    return json_response(result, 200 if result.ok else 503)


class Router:
    """A tiny method-and-path router; `<name>` segments become keyword arguments."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.route("GET", "/healthz")(_health)

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        pattern = re.compile("^" + re.sub(r"<([a-z_]+)>", r"(?P<\1>[^/]+)", path) + "/?$")

        def register(handler: Handler) -> Handler:
            self._routes.append((method, pattern, handler))
            return handler

        return register

    def dispatch(self, request: flask.Request) -> flask.Response:
        allowed: set[str] = set()
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            if method == request.method:
                return handler(request, **match.groupdict())
            allowed.add(method)
        if allowed:
            return problem(
                405,
                "method_not_allowed",
                f"use {', '.join(sorted(allowed))} on {request.path}",
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        return problem(404, "not_found", f"no endpoint at {request.path}")
