"""retention (cron) and retention-worker (queue): raw events past each organization's retention, daily.

The daily cron drops whole monthly partitions where every organization's cutoff allows, prunes what is global
and queues one `retention` message per organization; retention-worker instances delete each organization's
expired rows and keys in batches (docs/quality.md, docs/scaling.md). Rollups keep the history. Functions of their
own, apart from monitor, so they are given only what they use: the database and the invoke secret.
"""

from __future__ import annotations

import flask
import functions_framework

from shared.core import db, startup
from shared.core import http as web
from shared.monitor import retention, retention_jobs

startup.refuse_unsafe_settings()

planner = web.Router()
workers = web.Router()


@planner.route("POST", "/")
@web.invoked_only
def post_retention(request: flask.Request) -> flask.Response:
    return web.json_response(retention.plan(db.transaction))


@workers.route("POST", "/")
@web.invoked_only
def post_drain(request: flask.Request) -> flask.Response:
    drained, more = retention_jobs.drain(db.transaction)
    return web.json_response(
        {
            "messages": drained.messages,
            "rows_deleted": sum(drained.rows_deleted.values()),
            "organizations": len(drained.rows_deleted),
            "keys_pruned": drained.keys_pruned,
            "deferred": drained.deferred,
            "archived": drained.archived,
            "more": more,
        }
    )


@functions_framework.http
def retention_run(request: flask.Request) -> flask.Response:
    return planner.dispatch(request)


@functions_framework.http
def retention_worker(request: flask.Request) -> flask.Response:
    return workers.dispatch(request)
