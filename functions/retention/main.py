"""retention (cron-triggered function): removes raw events past each organization's retention, daily.

Whole monthly partitions are dropped where every organization's cutoff allows, otherwise rows are deleted in
batches; rollups keep the history (docs/quality.md). A function of its own, apart from monitor, so it is given
only what it uses: the database and the invoke secret.
"""

from __future__ import annotations

import flask
import functions_framework

from shared.core import db, startup
from shared.core import http as web
from shared.monitor import retention

startup.refuse_unsafe_settings()

router = web.Router()


@router.route("POST", "/")
@web.invoked_only
def post_retention(request: flask.Request) -> flask.Response:
    report = retention.run(db.transaction)
    return web.json_response(report)


@functions_framework.http
def retention_run(request: flask.Request) -> flask.Response:
    return router.dispatch(request)
