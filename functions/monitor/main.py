"""monitor (cron-triggered function): runs the data quality checks and alerts; also serves dead-letter
listing and replay to organization admins, and (entry point `retention`) the daily retention run.

`POST /` (the scheduler, with INVOKE_SECRET): run every check, store the results, open/resolve incidents and
notify. `GET /v1/dead-letters` and `POST /v1/dead-letters/replay`: an API key with the `admin` scope, limited
to its own organization.
"""

from __future__ import annotations

import flask
import functions_framework

from shared import alerts, db, deadletter_routes, quality, retention
from shared import http as web

router = web.Router()
retention_router = web.Router()
deadletter_routes.register(router)


@router.route("POST", "/")
@web.invoked_only
def post_run(request: flask.Request) -> flask.Response:
    summary = quality.run(db.transaction)
    sent = alerts.process(db.transaction, summary)
    counts = {s: sum(1 for r in summary.results if r.status == s) for s in ("pass", "warn", "fail")}
    return web.json_response(
        {"run_id": str(summary.run_id), "skipped": summary.skipped, "results": counts, "alerts": sent}
    )


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
