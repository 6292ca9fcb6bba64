"""report (cron-triggered function): generates, stores and delivers the reports that are due.

Run hourly: each organization's week or month closes at midnight in its own zone, so its report goes out within
the hour after. The run also finishes reports a previous run left half-done and retries failed deliveries
(docs/reports.md). Calling it again in the same hour does nothing new.
"""

from __future__ import annotations

import flask
import functions_framework

from shared import report as reports
from shared.core import db, startup
from shared.core import http as web

startup.refuse_unsafe_settings("REPORTS_WEBHOOK_KEY")  # signs report webhooks

router = web.Router()


@router.route("POST", "/")
@web.invoked_only
def post_run(request: flask.Request) -> flask.Response:
    outcome = reports.run_due(db.transaction)
    return web.json_response({**outcome.model_dump(mode="json"), "more": False})


@functions_framework.http
def report(request: flask.Request) -> flask.Response:
    return router.dispatch(request)
