"""validate (queue-triggered function): drains the ingest queue into the event store.

Production invokes it with an HTTP POST when messages are queued (see docs/triggering.md); the local runner
does the same. Each call drains batches until the queue is empty or its time budget is spent.
"""

from __future__ import annotations

from datetime import timedelta

import flask
import functions_framework

from shared.core import db, startup
from shared.core import http as web
from shared.validate import validation

startup.refuse_unsafe_settings("PII_HASH_KEY")  # pseudonymises what ingest did not check (webhook deliveries)

router = web.Router()


@router.route("POST", "/")
@web.invoked_only
def post_drain(request: flask.Request) -> flask.Response:
    totals, more = validation.drain(db.transaction, budget=timedelta(seconds=20))
    return web.json_response({**vars(totals), "more": more})


@functions_framework.http
def validate(request: flask.Request) -> flask.Response:
    return router.dispatch(request)
