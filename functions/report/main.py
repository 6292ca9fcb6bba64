"""report: plans the reports that are due (cron) and makes them (queue), fanned out per organization.

Two entry points, two deployed functions (deploy.yaml):
- `report` (cron, hourly): each organization's week or month closes at midnight in its own zone, so its report
  is due within the hour after. The run queues one message per due report on the `reports` queue, plus reports
  a previous attempt left unfinished or undelivered; calling it again in the same hour queues nothing.
- `report_worker` (queue `reports`): takes one message at a time and generates, stores and acks its report in
  one transaction, then delivers it (docs/reports.md); many instances drain side by side.
"""

from __future__ import annotations

from datetime import timedelta

import flask
import functions_framework

from shared import report as reports
from shared.core import db, startup
from shared.core import http as web

startup.refuse_unsafe_settings("REPORTS_WEBHOOK_KEY")  # signs report webhooks

planner = web.Router()
workers = web.Router()


@planner.route("POST", "/")
@web.invoked_only
def post_plan(request: flask.Request) -> flask.Response:
    outcome = reports.plan(db.transaction)
    return web.json_response({**outcome.model_dump(mode="json"), "more": False})


@workers.route("POST", "/")
@web.invoked_only
def post_drain(request: flask.Request) -> flask.Response:
    totals, more = reports.drain(db.transaction, budget=timedelta(seconds=240))
    return web.json_response({**vars(totals), "more": more})


@functions_framework.http
def report(request: flask.Request) -> flask.Response:
    return planner.dispatch(request)


@functions_framework.http
def report_worker(request: flask.Request) -> flask.Response:
    return workers.dispatch(request)
