"""aggregate (queue-triggered function): drains the aggregate queue into the rollups.

Production invokes it with an HTTP POST when validate queues stored events (see docs/triggering.md); the local
runner does the same. Each call drains batches until the queue is empty or its time budget is spent.
"""

from __future__ import annotations

from datetime import timedelta

import flask
import functions_framework

from shared.aggregate import aggregation
from shared.core import db, startup
from shared.core import http as web

startup.refuse_unsafe_settings()

router = web.Router()


@router.route("POST", "/")
@web.invoked_only
def post_drain(request: flask.Request) -> flask.Response:
    totals, more = aggregation.drain(db.transaction, budget=timedelta(seconds=20))
    return web.json_response({**vars(totals), "more": more})


@functions_framework.http
def aggregate(request: flask.Request) -> flask.Response:
    return router.dispatch(request)
