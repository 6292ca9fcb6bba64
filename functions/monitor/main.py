"""monitor (cron-triggered function): runs the data quality checks, the business alerts and their
notifications; also serves dead-letter listing and replay and the business-alert rules to organization admins.

`POST /` (the scheduler, with INVOKE_SECRET): run every check, store the results, open/resolve incidents and
queue their notifications; the `alert_worker` entry point (deploy.yaml `alert-worker`, queue `alerts`) sends
them, one incident per transaction. `GET /v1/dead-letters`, `POST /v1/dead-letters/replay`, `GET /v1/alerts` and `POST /v1/alerts/<alert>`:
an API key with the `admin` scope, limited to its own organization. deploy.yaml runs this entry point twice:
`monitor` (the schedule) and `monitor-api` (the admin endpoints, scaled on their own); either can run the checks,
so both get the alert key.
"""

from __future__ import annotations

import flask
import functions_framework

from shared.core import db, startup
from shared.core import http as web
from shared.monitor import alert_routes, alerts, quality
from shared.validate import deadletter_routes

startup.refuse_unsafe_settings("ALERT_WEBHOOK_SECRET")  # signs alert webhooks

router = web.Router()
deadletter_routes.register(router)
alert_routes.register(router)


@router.route("POST", "/")
@web.invoked_only
def post_run(request: flask.Request) -> flask.Response:
    summary = quality.run(db.transaction)
    sent = alerts.process(db.transaction, summary, deliver=False)  # alert-worker delivers the queued incidents
    counts = {s: sum(1 for r in summary.results if r.status == s) for s in ("pass", "warn", "fail")}
    return web.json_response(
        {"run_id": str(summary.run_id), "skipped": summary.skipped, "results": counts, "alerts": sent}
    )


workers = web.Router()


@workers.route("POST", "/")
@web.invoked_only
def post_deliver(request: flask.Request) -> flask.Response:
    drained, more = alerts.drain(db.transaction)
    return web.json_response({"messages": drained.messages, "notifications": drained.notifications, "more": more})


@functions_framework.http
def monitor(request: flask.Request) -> flask.Response:
    return router.dispatch(request)


@functions_framework.http
def alert_worker(request: flask.Request) -> flask.Response:
    return workers.dispatch(request)
