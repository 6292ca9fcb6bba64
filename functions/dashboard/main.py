"""dashboard (HTTP function): the organization's analytics, read under row-level security, cached by data version.
See docs/board.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import flask
import functions_framework
from pydantic import BaseModel

from shared.core import errors, settings, startup
from shared.core import http as web
from shared.dashboard import answers as board
from shared.dashboard import auth, livefeed, openapi, pipelinestatus
from shared.metrics import rollups
from shared.report import access
from shared.validate import deadletter_routes

startup.refuse_unsafe_settings()

router = web.Router()
deadletter_routes.register(router)  # for organization admins (admin-scoped keys), as on monitor
CACHE_CONTROL = "private, max-age=0, must-revalidate"

ENDPOINTS: list[openapi.Endpoint] = [
    openapi.Endpoint(
        "/v1/metrics",
        "The metric registry: names, descriptions, units, allowed breakdowns",
        board.NoQuery,
        board.Catalog,
    ),
    openapi.Endpoint(
        "/v1/metrics/overview",
        "Every metric over the period, with the change against the previous period of the same length",
        board.OverviewQuery,
        board.Overview,
    ),
    openapi.Endpoint(
        "/v1/metrics/timeseries",
        "One metric per hour, day, ISO week or month in the organization's zone, empty periods filled",
        board.TimeseriesQuery,
        rollups.Timeseries,
    ),
    openapi.Endpoint(
        "/v1/metrics/breakdown",
        "One metric per value of one of its dimensions, largest first",
        board.BreakdownQuery,
        rollups.Breakdown,
    ),
    openapi.Endpoint(
        "/v1/funnel",
        "Clients whose first inquiry was in the period and how far they got; bookings "
        "made in the period and their fate",
        board.FunnelQuery,
        board.FunnelAnswer,
    ),
    openapi.Endpoint("/v1/revenue", "Gross, refunds and net per currency", board.RevenueQuery, board.RevenueAnswer),
    openapi.Endpoint(
        "/v1/quality",
        "Intake per source, rejection reasons, dead letters, queues, freshness (never cached)",
        board.QualityQuery,
        pipelinestatus.Quality,
        cached=False,
    ),
    openapi.Endpoint(
        "/v1/reports",
        "The organization's weekly and monthly reports, newest period first (never cached)",
        board.ReportsQuery,
        board.ReportList,
        cached=False,
    ),
    openapi.Endpoint(
        "/v1/reports/{report_id}",
        "One report: its record (format=json) or a stored file (pdf, html, csv)",
        board.ReportQuery,
        access.ReportRecord,
        cached=False,
    ),
    openapi.Endpoint(
        "/v1/events/live",
        "Changes of the organization's data as server-sent events (follows its data version)",
        board.NoQuery,
        None,
        cached=False,
    ),
]


def openapi_document() -> dict[str, Any]:
    return openapi.document(ENDPOINTS)


def _refused(exc: auth.AuthError) -> flask.Response:
    if exc.status == 401:
        return web.problem(401, "unauthorized", exc.message, headers={"WWW-Authenticate": "Bearer"})
    return web.problem(403, "forbidden", exc.message)


def _bad(exc: board.BadInput) -> flask.Response:
    return web.problem(400, "invalid_query", f"the query parameters are not valid: {exc}", exc.fields)


def _answer(
    request: flask.Request, model: type[BaseModel], compute: Callable[..., BaseModel], *, cacheable: bool = True
) -> flask.Response:
    try:
        viewer = auth.authenticate(web.bearer_token(request))
        repeated = [k for k, v in request.args.lists() if len(v) > 1]
        if repeated:
            raise board.BadInput(
                [web.FieldError(loc=[k], msg="given more than once", type="duplicate") for k in repeated]
            )
        query = board.parse(model, request.args.to_dict(flat=True))
        served = board.serve(
            viewer, request.path.rstrip("/"), query, compute, request.headers.get("If-None-Match"), cacheable=cacheable
        )
    except auth.AuthError as exc:
        return _refused(exc)
    except board.BadInput as exc:
        return _bad(exc)
    except errors.InvalidInput as exc:
        return web.problem(400, "invalid_query", str(exc))
    except errors.NotFound as exc:
        return web.problem(404, "not_found", str(exc))
    except (errors.DatabaseUnavailable, errors.DatabaseTimeout) as exc:
        return web.problem(
            503,
            "unavailable",
            f"the database cannot answer now; try again shortly ({exc})",
            headers={"Retry-After": "5"},
        )
    headers = {
        "Cache-Control": CACHE_CONTROL if cacheable else "no-store",
        "X-Cache": served.cache,
        "Vary": "Authorization",
    }
    if served.etag:
        headers["ETag"] = served.etag
    response = flask.Response(
        served.body if served.status == 200 else None,
        status=served.status,
        mimetype="application/json" if served.status == 200 else None,
    )
    response.headers.update(headers)
    return response


@router.route("GET", "/v1/metrics")
def get_metrics(request: flask.Request) -> flask.Response:
    return _answer(request, board.NoQuery, lambda conn, org, q: board.catalog())


@router.route("GET", "/v1/metrics/overview")
def get_overview(request: flask.Request) -> flask.Response:
    return _answer(request, board.OverviewQuery, board.overview)


@router.route("GET", "/v1/metrics/timeseries")
def get_timeseries(request: flask.Request) -> flask.Response:
    return _answer(request, board.TimeseriesQuery, board.timeseries)


@router.route("GET", "/v1/metrics/breakdown")
def get_breakdown(request: flask.Request) -> flask.Response:
    return _answer(request, board.BreakdownQuery, board.breakdown)


@router.route("GET", "/v1/funnel")
def get_funnel(request: flask.Request) -> flask.Response:
    return _answer(request, board.FunnelQuery, board.funnel)


@router.route("GET", "/v1/revenue")
def get_revenue(request: flask.Request) -> flask.Response:
    return _answer(request, board.RevenueQuery, board.revenue)


@router.route("GET", "/v1/quality")
def get_quality(request: flask.Request) -> flask.Response:
    return _answer(request, board.QualityQuery, pipelinestatus.quality, cacheable=False)


@router.route("GET", "/v1/reports")
def get_reports(request: flask.Request) -> flask.Response:
    return _answer(request, board.ReportsQuery, board.report_list, cacheable=False)


@router.route("GET", "/v1/reports/<report_id>")
def get_report(request: flask.Request, report_id: str) -> flask.Response:
    try:
        viewer = auth.authenticate(web.bearer_token(request))  # credentials first: a 404 tells nothing to strangers
        query = board.parse(board.ReportQuery, request.args.to_dict(flat=True))
        wanted = UUID(report_id)
    except auth.AuthError as exc:
        return _refused(exc)
    except board.BadInput as exc:
        return _bad(exc)
    except ValueError:
        return web.problem(404, "not_found", f"no report {report_id!r}: report ids are UUIDs")
    if query.format == "json":
        return _answer(request, board.ReportQuery, board.report_record(wanted), cacheable=False)
    try:
        body, content_type, filename = board.report_file(viewer, wanted, query.format)
    except errors.NotFound as exc:
        return web.problem(404, "not_found", str(exc))
    return flask.Response(
        body,
        mimetype=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


@router.route("GET", "/v1/events/live")
def get_live(request: flask.Request) -> flask.Response:
    try:
        viewer = auth.authenticate(web.bearer_token(request))
        board.parse(board.NoQuery, request.args.to_dict(flat=True))
        feed = livefeed.open_stream(viewer, request.headers.get("Last-Event-ID"))
    except auth.AuthError as exc:
        return _refused(exc)
    except board.BadInput as exc:
        return _bad(exc)
    return flask.Response(
        flask.stream_with_context(feed),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.route("GET", "/v1/openapi.json")
def get_openapi(request: flask.Request) -> flask.Response:
    return web.json_response(openapi_document(), headers={"Cache-Control": "public, max-age=300"})


def _cors(request: flask.Request, response: flask.Response) -> flask.Response:
    """Browsers on another origin may call the API: credentials travel in the Authorization header, never in
    cookies, so allowing an origin grants nothing a script could not already do with the token it holds."""
    origin = request.headers.get("Origin")
    allowed = [o.strip() for o in settings.get_settings().dashboard_cors_origins.split(",") if o.strip()]
    if origin and ("*" in allowed or origin in allowed):
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
        response.headers["Access-Control-Expose-Headers"] = "ETag, X-Cache"
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
