"""refresh (queue- and cron-triggered function): refreshes the analytics materialized views.

Aggregate queues one delayed message on the refresh queue when a view's inputs change (the debounce); a cron
entry calls the same endpoint as a safety net. Each call refreshes, concurrently, every view that is pending
or has not been refreshed for REFRESH_SAFETY_SECONDS, and consumes the waiting refresh messages.
"""

from __future__ import annotations

import flask
import functions_framework

from shared.core import db, startup
from shared.core import http as web
from shared.refresh import views as refresh

startup.refuse_unsafe_settings()

router = web.Router()


@router.route("POST", "/")
@web.invoked_only
def post_refresh(request: flask.Request) -> flask.Response:
    outcome = refresh.run(db.transaction)
    return web.json_response({**outcome.model_dump(mode="json"), "more": False})


@functions_framework.http
def refresh_views(request: flask.Request) -> flask.Response:
    return router.dispatch(request)
