"""dashboard (HTTP function): the organization's analytics, read under row-level security, cached by data version.
See docs/dashboard.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import flask
import functions_framework
from pydantic import BaseModel

from shared.core import errors, heap, ratelimit, startup
from shared.core import http as web
from shared.dashboard import (
    answers,
    auth,
    csvexport,
    eventexport,
    livefeed,
    openapi,
    pipelinestatus,
    questions,
    routes,
    serving,
    share_routes,
    sharelinks,
    webpage,
)
from shared.dashboard import settings as dashboard_settings
from shared.monitor import alert_routes
from shared.validate import deadletter_routes

startup.refuse_unsafe_settings("SHARE_LINK_KEY")  # signs share links
webpage.page()  # hash the static files once, at start-up

router = web.Router()
deadletter_routes.register(router)  # for organization admins (admin-scoped keys), as on monitor
share_routes.register(router)  # share links, for organization admins (admin-scoped keys)
alert_routes.register(router)  # business-alert thresholds and mutes, for organization admins
SHARE_PARAMETER = "share"  # a share link opened in a browser carries its token as ?share=
CACHE_CONTROL = "private, max-age=0, must-revalidate"


def openapi_document() -> dict[str, Any]:
    return openapi.document(routes.ENDPOINTS)


def _refused(exc: auth.AuthError) -> flask.Response:
    if exc.status == 401:
        return web.problem(401, "unauthorized", exc.message, headers={"WWW-Authenticate": "Bearer"})
    return web.problem(403, "forbidden", exc.message)


class _Limited(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait


def _viewer(request: flask.Request, token: str | None = None) -> auth.Viewer:
    """The authenticated caller, within its request rate (else `_Limited`): one bucket per user, API key or share
    link; a share link is refused (403) outside its panels. `token` replaces the Authorization header where a
    client cannot send one (the live feed's EventSource)."""
    viewer = sharelinks.authenticate(
        token or web.bearer_token(request), request.args.get(SHARE_PARAMETER), request.path
    )
    conf = dashboard_settings.get()
    caller = f"{viewer.organization_id}:{viewer.claims.get('sub', '')}"
    wait = ratelimit.buckets("dashboard").take(caller, conf.dashboard_rate_per_second, conf.dashboard_rate_burst)
    if wait:
        raise _Limited(wait)
    return viewer


def _limited(exc: _Limited) -> flask.Response:
    rate = dashboard_settings.get().dashboard_rate_per_second
    return web.too_many_requests(exc.wait, f"this caller is over {rate:g} requests a second")


def _args(request: flask.Request) -> dict[str, str]:
    """The query parameters of the question: the share token is a credential, not part of it."""
    return {k: v for k, v in request.args.items() if k != SHARE_PARAMETER}


def _bad(exc: questions.BadInput) -> flask.Response:
    return web.problem(400, "invalid_query", f"the query parameters are not valid: {exc}", exc.fields)


def _unsupported(exc: csvexport.Unsupported) -> flask.Response:
    if exc.status == 406:
        return web.problem(406, "not_acceptable", exc.message)
    return web.problem(400, "invalid_query", exc.message)


def _answer(
    request: flask.Request,
    model: type[BaseModel],
    compute: Callable[..., BaseModel],
    *,
    cacheable: bool = True,
    viewer: auth.Viewer | None = None,
) -> flask.Response:
    try:
        viewer = viewer or _viewer(request)
        repeated = [k for k, v in request.args.lists() if len(v) > 1]
        if repeated:
            raise questions.BadInput(
                [web.FieldError(loc=[k], msg="given more than once", type="duplicate") for k in repeated]
            )
        args = _args(request)
        # `format` picks the representation; the report record's own `format` (its stored files) stays its own.
        own_format = "format" in model.model_fields
        fmt = csvexport.negotiate(None if own_format else args.pop("format", None), request.headers.get("Accept"))
        query = questions.parse(model, args)
        served = serving.serve(
            viewer,
            request.path.rstrip("/"),
            query,
            compute,
            request.headers.get("If-None-Match"),
            cacheable=cacheable,
            render=csvexport.render if fmt == "csv" else serving.to_json,
            representation=fmt,
        )
    except csvexport.Unsupported as exc:
        return _unsupported(exc)
    except auth.AuthError as exc:
        return _refused(exc)
    except _Limited as exc:
        return _limited(exc)
    except questions.BadInput as exc:
        return _bad(exc)
    except errors.InvalidInput as exc:
        return web.problem(400, "invalid_query", str(exc))
    except errors.NotFound as exc:
        return web.problem(404, "not_found", str(exc))
    # DatabaseConflict: on a read replica, a query replay had to cancel ("conflict with recovery"); asked again,
    # it is answered.
    except (errors.DatabaseUnavailable, errors.DatabaseTimeout, errors.DatabaseConflict) as exc:
        return web.problem(
            503,
            "unavailable",
            f"the database cannot answer now; try again shortly ({exc})",
            headers={"Retry-After": "5"},
        )
    headers = {
        "Cache-Control": CACHE_CONTROL if cacheable else "no-store",
        "X-Cache": served.cache,
        "Vary": "Authorization, Accept",
    }
    if served.etag:
        headers["ETag"] = served.etag
    headers.update(_read_headers(served))
    if fmt == "csv":
        name = csvexport.filename(request.path, *(served.days or (None, None)))
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    mimetype = "application/json" if fmt == "json" else f"{csvexport.MEDIA_TYPE}; charset=utf-8"
    response = flask.Response(
        served.body if served.status == 200 else None,
        status=served.status,
        content_type=mimetype if served.status == 200 else None,
    )
    response.headers.update(headers)
    return response


def _read_headers(served: serving.Served) -> dict[str, str]:
    """Which server's snapshot gave the answer's version, and the data's as-of (docs/scaling.md, 'Read replica')."""
    headers: dict[str, str] = {"X-Read-Source": served.source}
    if served.as_of is not None:
        headers["X-Data-As-Of"] = served.as_of.isoformat(timespec="milliseconds")
    if served.fallback is not None:
        headers["X-Read-Fallback"] = served.fallback
    return headers


@router.route("GET", "/v1/metrics")
def get_metrics(request: flask.Request) -> flask.Response:
    return _answer(request, questions.NoQuery, lambda conn, org, q: answers.catalog())


@router.route("GET", "/v1/organization")
def get_organization(request: flask.Request) -> flask.Response:
    try:
        viewer = _viewer(request)
    except auth.AuthError as exc:
        return _refused(exc)
    except _Limited as exc:
        return _limited(exc)
    return _answer(request, questions.NoQuery, answers.organization(viewer), cacheable=False, viewer=viewer)


@router.route("GET", "/v1/metrics/overview")
def get_overview(request: flask.Request) -> flask.Response:
    return _answer(request, questions.OverviewQuery, answers.overview)


@router.route("GET", "/v1/metrics/timeseries")
def get_timeseries(request: flask.Request) -> flask.Response:
    return _answer(request, questions.TimeseriesQuery, answers.timeseries)


@router.route("GET", "/v1/metrics/breakdown")
def get_breakdown(request: flask.Request) -> flask.Response:
    return _answer(request, questions.BreakdownQuery, answers.breakdown)


@router.route("GET", "/v1/funnel")
def get_funnel(request: flask.Request) -> flask.Response:
    return _answer(request, questions.FunnelQuery, answers.funnel)


@router.route("GET", "/v1/revenue")
def get_revenue(request: flask.Request) -> flask.Response:
    return _answer(request, questions.RevenueQuery, answers.revenue)


@router.route("GET", "/v1/weddings")
def get_weddings(request: flask.Request) -> flask.Response:
    return _answer(request, questions.WeddingsQuery, answers.wedding_axis)


@router.route("GET", "/v1/quality")
def get_quality(request: flask.Request) -> flask.Response:
    return _answer(request, questions.QualityQuery, pipelinestatus.quality, cacheable=False)


@router.route("GET", "/v1/reports")
def get_reports(request: flask.Request) -> flask.Response:
    return _answer(request, questions.ReportsQuery, answers.report_list, cacheable=False)


@router.route("GET", "/v1/reports/<report_id>")
def get_report(request: flask.Request, report_id: str) -> flask.Response:
    try:
        viewer = _viewer(request)  # credentials first: a 404 tells nothing to strangers
        query = questions.parse(questions.ReportQuery, _args(request))
        wanted = UUID(report_id)
        if "format" not in request.args and csvexport.negotiate(None, request.headers.get("Accept")) == "csv":
            query.format = "csv"  # Accept: text/csv asks for the report's stored CSV
    except csvexport.Unsupported as exc:
        return _unsupported(exc)
    except auth.AuthError as exc:
        return _refused(exc)
    except _Limited as exc:
        return _limited(exc)
    except questions.BadInput as exc:
        return _bad(exc)
    except ValueError:
        return web.problem(404, "not_found", f"no report {report_id!r}: report ids are UUIDs")
    if query.format == "json":
        return _answer(request, questions.ReportQuery, answers.report_record(wanted), cacheable=False, viewer=viewer)
    try:
        body, content_type, filename = answers.report_file(viewer, wanted, query.format)
    except errors.NotFound as exc:
        return web.problem(404, "not_found", str(exc))
    return flask.Response(
        body,
        mimetype=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


@router.route("GET", "/v1/export/events")
def get_event_export(request: flask.Request) -> flask.Response:
    try:
        viewer = _viewer(request)
        if viewer.via == "share_link":
            raise auth.AuthError(403, "a share link shows the dashboard; it cannot export the raw events")
        repeated = [k for k, v in request.args.lists() if len(v) > 1]
        if repeated:
            raise questions.BadInput(
                [web.FieldError(loc=[k], msg="given more than once", type="duplicate") for k in repeated]
            )
        query = questions.parse(eventexport.ExportQuery, _args(request))
        with serving.as_viewer(viewer) as conn:
            org = serving.state(conn)
        start, end = eventexport.window(query, org.tz)
    except auth.AuthError as exc:
        return _refused(exc)
    except _Limited as exc:
        return _limited(exc)
    except questions.BadInput as exc:
        return _bad(exc)
    except (errors.DatabaseUnavailable, errors.DatabaseTimeout) as exc:
        return web.problem(503, "unavailable", f"the database cannot answer now ({exc})", headers={"Retry-After": "5"})
    name = eventexport.filename(start, end, org.tz)
    return flask.Response(
        eventexport.stream(viewer, start, end),  # one transaction as the viewer, open while it streams
        mimetype=eventexport.MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"},
    )


@router.route("GET", "/v1/events/live")
def get_live(request: flask.Request) -> flask.Response:
    try:
        # EventSource cannot send headers: here only, the credential may come as `?key=` (docs/dashboard.md)
        params = _args(request)
        viewer = _viewer(request, params.pop("key", None))
        questions.parse(questions.NoQuery, params)
        feed = livefeed.open_stream(viewer, request.headers.get("Last-Event-ID"))
    except auth.AuthError as exc:
        return _refused(exc)
    except _Limited as exc:
        return _limited(exc)
    except livefeed.Busy as exc:
        return web.too_many_requests(exc.retry_after, f"{exc}; try again later")
    except questions.BadInput as exc:
        return _bad(exc)
    return flask.Response(
        feed,  # reads no request state, so it needs no request context (one per thread, not per stream)
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.route("GET", "/")
def get_page(request: flask.Request) -> flask.Response:
    return webpage.index()


@router.route("GET", "/assets/<name>")
def get_static(request: flask.Request, name: str) -> flask.Response:
    return webpage.asset(name) or web.problem(404, "not_found", f"no file {name!r}: the page may be newer, reload it")


@router.route("GET", "/v1/openapi.json")
def get_openapi(request: flask.Request) -> flask.Response:
    return web.json_response(openapi_document(), headers={"Cache-Control": "public, max-age=300"})


def _cors(request: flask.Request, response: flask.Response) -> flask.Response:
    """Browsers on another origin may call the API: credentials travel in the Authorization header, never in
    cookies, so allowing an origin grants nothing a script could not already do with the token it holds."""
    origin = request.headers.get("Origin")
    allowed = [o.strip() for o in dashboard_settings.get().dashboard_cors_origins.split(",") if o.strip()]
    if origin and ("*" in allowed or origin in allowed):
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
        response.headers["Access-Control-Expose-Headers"] = (
            "ETag, X-Cache, Retry-After, X-Read-Source, X-Data-As-Of, X-Read-Fallback"
        )
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Authorization, If-None-Match"
            response.headers["Access-Control-Max-Age"] = "600"
        if "*" not in allowed:
            response.vary.add("Origin")
    return response


@functions_framework.http
def dashboard(request: flask.Request) -> flask.Response:
    if request.method == "OPTIONS":
        return _cors(request, flask.Response(status=204, headers={"Allow": "GET, OPTIONS"}))
    return _cors(request, router.dispatch(request))


heap.freeze_startup_objects()  # last: everything imported and registered above is never garbage (see heap.py)
